"""FastAPI dependencies of the channel service."""

from typing import Annotated

from fastapi import Depends, Request

from channels.config import Settings
from channels.conversations import ConversationService


def get_service(request: Request) -> ConversationService:
    return request.app.state.service


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


ServiceDep = Annotated[ConversationService, Depends(get_service)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
