"""What stands before every console API call: the staff session cookie, the CSRF header, and one
JSON shape for every error.

The session is the backend's staff token itself, kept in an HttpOnly cookie (page scripts never
see it) with SameSite=Strict on /console. The console does not judge the token: each call hands
it to the backend, which authorises and audits the person, and a 401 there signs the console out.

CSRF: besides SameSite=Strict, every API call must carry `X-Requested-With: console`. A page of
another origin cannot add a custom header without a CORS preflight, which this service never
grants, so a forged form or image request is refused before it reaches a handler.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from channels.conversations import NotHandedOff
from channels.rasa_client import RasaUnavailable
from common.backend_client import ApiError

SESSION_COOKIE = "console_session"
COOKIE_PATH = "/console"
CSRF_HEADER = "X-Requested-With"
CSRF_VALUE = "console"


class ConsoleError(Exception):
    """An answer of the console's API other than success: HTTP status, stable code, English message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code
        self.message = message


def signed_out() -> ConsoleError:
    return ConsoleError(401, "signed_out", "Your session has ended. Please sign in again.")


def remember_session(response: Response, request: Request, token: str, max_age: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        # Behind a TLS proxy uvicorn takes the scheme from X-Forwarded-Proto (proxy_headers).
        secure=request.url.scheme == "https",
    )


def forget_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")


def require_console_header(request: Request) -> None:
    if request.headers.get(CSRF_HEADER) != CSRF_VALUE:
        raise ConsoleError(
            403, "csrf_header_missing", f"Console calls must send {CSRF_HEADER}: {CSRF_VALUE}."
        )


def staff_token(request: Request) -> str:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise signed_out()
    return token


StaffToken = Annotated[str, Depends(staff_token)]


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}},
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )


def _answer(error: Exception) -> JSONResponse:
    if isinstance(error, ConsoleError):
        response = error_response(error.status, error.code, error.message)
    elif isinstance(error, ApiError) and error.code == "unauthorized":
        # The backend no longer accepts the token (expired, or the staff user is gone).
        expired = signed_out()
        response = error_response(expired.status, expired.code, expired.message)
    elif isinstance(error, ApiError):
        message = error.message or "The account backend refused the request."
        if error.code == "backend_unavailable":
            message = "The account backend is not answering. Please try again in a moment."
        response = error_response(error.status, error.code, message)
    elif isinstance(error, NotHandedOff):
        response = error_response(
            404, "conversation_not_found", "No conversation is handed off with this ticket."
        )
    elif isinstance(error, RasaUnavailable):
        message = "The bot is not answering, so the conversation stays with the helpdesk. Try again later."
        response = error_response(503, "bot_unavailable", message)
    else:
        assert isinstance(error, RequestValidationError)
        # Only where: pydantic's details would quote the input back (it may be a PESEL).
        fields = ", ".join(".".join(str(part) for part in e["loc"]) for e in error.errors())
        response = error_response(422, "invalid_request", f"The request is not valid ({fields}).")
    if response.status_code == 401:
        forget_session(response)
    return response


class ConsoleRoute(APIRoute):
    """API routes whose failures all become {"error": {"code", "message"}} with a stable code."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                response = await handle(request)
            except (
                ConsoleError,
                ApiError,
                NotHandedOff,
                RasaUnavailable,
                RequestValidationError,
            ) as error:
                return _answer(error)
            except HTTPException as error:
                # FastAPI's own 400 for a body it cannot decode at all (not UTF-8), in the same shape.
                if error.status_code != 400:
                    raise
                return error_response(400, "invalid_request", "The request body is not JSON in UTF-8.")
            # Transcripts and lookups hold personal data: no cache keeps a copy.
            response.headers["Cache-Control"] = "no-store"
            return response

        return guarded
