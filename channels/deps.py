"""FastAPI dependencies of the channel service."""

from typing import Annotated

from fastapi import Depends, Request

from channels.config import Settings
from channels.conversations import ConversationService


def get_service(request: Request) -> ConversationService:
    service: ConversationService = request.app.state.service
    return service


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


ServiceDep = Annotated[ConversationService, Depends(get_service)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
