"""Liveness and readiness (no auth)."""

from fastapi import APIRouter
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from backend.deps import SessionDep
from backend.errors import ApiError
from backend.schemas import Status, error_responses

router = APIRouter(tags=["health"])


@router.get("/health")
def health() -> Status:
    return Status(status="ok")


@router.get("/ready", responses=error_responses(503))
def ready(session: SessionDep) -> Status:
    try:
        session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        raise ApiError(503, "not_ready", "The database cannot be reached.") from None
    return Status(status="ready")
