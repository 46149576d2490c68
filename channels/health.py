"""Liveness and readiness of the channel service."""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready")
async def ready(request: Request) -> JSONResponse:
    """Ready when Rasa has a model loaded: before that, every message would get an apology."""
    if await request.app.state.service.rasa.is_ready():
        return JSONResponse({"status": "ready"})
    return JSONResponse({"status": "waiting for rasa"}, status_code=503)
