"""A local Telegram Bot API server for the tests: real HTTP at http://127.0.0.1:<port>/bot<token>/<method>,
answering python-telegram-bot's calls (form fields, reply_markup as a JSON string, or a JSON body) the
way Telegram does, for any number of bots (one per token).

Tests play the people: `bot.send_text(chat_id, "Привіт")` queues an update, which the bot gets from
getUpdates (long polling: updates stay until a later offset confirms them) or, once a webhook is set,
by a POST to the webhook with the secret token header (retried until it answers 200, like Telegram).
Every call is recorded; `bot.fail(...)` makes the next calls of a method answer with an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.asgi_server import ServerThread

MAX_TEXT_LENGTH = 4096
MAX_CALLBACK_DATA_BYTES = 64
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ERRORS = {
    400: "Bad Request: chat not found",
    403: "Forbidden: bot was blocked by the user",
    429: "Too Many Requests: retry later",
}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    status: int = 0  # until answered
    result: Any = None


@dataclass
class Failure:
    status: int
    description: str
    parameters: dict[str, Any] | None = None


class ApiError(Exception):
    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.failure = Failure(status, description, parameters)


@dataclass
class FakeBot:
    """One bot's side of Telegram: what it was sent, what it sent, its webhook."""

    token: str
    id: int
    username: str
    calls: list[Call] = field(default_factory=list)
    webhook: dict[str, Any] | None = None
    webhook_posts: list[int] = field(default_factory=list)  # the status of each POST to the webhook
    commands: dict[str | None, list[dict[str, str]]] = field(default_factory=dict)
    _updates: list[dict[str, Any]] = field(default_factory=list)  # not yet confirmed
    _failures: dict[str, list[Failure]] = field(default_factory=dict)
    _messages: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    _open_queries: set[str] = field(default_factory=set)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- what the tests do ---------------------------------------------------------------------

    def send_text(self, chat_id: int, text: str, language_code: str | None = "uk") -> int:
        """A person writes `text` in their private chat; returns the update's id."""
        message = self._user_message(chat_id, language_code, text=text)
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return self._queue({"message": message})

    def send_sticker(self, chat_id: int, language_code: str | None = "uk") -> int:
        sticker = {
            "file_id": "CAACAgIAAxkBAAE",
            "file_unique_id": "AgADsticker",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        return self._queue({"message": self._user_message(chat_id, language_code, sticker=sticker)})

    def press(self, chat_id: int, message_id: int, data: str, language_code: str | None = "uk") -> str:
        """A person presses an inline button with `data` under the bot's message; returns the query id."""
        with self._lock:
            # As the message is now (a copy: a later edit must not change the update already queued).
            message = copy.deepcopy(self._messages.get((chat_id, message_id))) or {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "from": self.me(),
                "text": "?",
            }
            query_id = f"query-{next(self._ids)}"
            self._open_queries.add(query_id)
        query = {
            "id": query_id,
            "from": _user(chat_id, language_code),
            "chat_instance": f"instance-{chat_id}",
            "message": message,
            "data": data,
        }
        self._queue({"callback_query": query})
        return query_id

    def fail(self, method: str, times: int, status: int = 500, retry_after: int | None = None) -> None:
        """The next `times` calls of `method` answer with an error: 429 with retry_after is a flood
        limit, 403 a person who blocked the bot, 500 Telegram's own trouble."""
        parameters = {"retry_after": retry_after} if retry_after is not None else None
        description = ERRORS.get(status, "Internal Server Error")
        with self._lock:
            self._failures[method] = [Failure(status, description, parameters)] * times

    def stop_failing(self) -> None:
        with self._lock:
            self._failures.clear()

    def calls_of(self, method: str, chat_id: int | None = None) -> list[Call]:
        with self._lock:
            return [
                call
                for call in self.calls
                if call.method == method
                and (chat_id is None or str(call.params.get("chat_id")) == str(chat_id))
            ]

    def sent(self, chat_id: int) -> list[dict[str, Any]]:
        """The messages Telegram accepted for this chat, in order, as Telegram returned them."""
        return [call.result for call in self.calls_of("sendMessage", chat_id) if call.status == 200]

    def me(self) -> dict[str, Any]:
        return {"id": self.id, "is_bot": True, "first_name": "Onboarding helper", "username": self.username}

    @property
    def pending_updates(self) -> int:
        with self._lock:
            return len(self._updates)

    # --- the Bot API -------------------------------------------------------------------------

    def call(self, method: str, params: dict[str, Any]) -> Any:
        """Answer one Bot API call; raises ApiError for an error answer. Long polling is done by
        the server (it waits, then calls again)."""
        with self._lock:
            failures = self._failures.get(method)
            if failures:
                raise ApiError(**vars(failures.pop()))
        handler = getattr(self, f"_api_{method.lower()}", None)
        if handler is None:
            raise ApiError(404, "Not Found")
        return handler(params)

    def _api_getme(self, params: dict[str, Any]) -> Any:
        return self.me()

    def _api_getupdates(self, params: dict[str, Any]) -> Any:
        with self._lock:
            if self.webhook:
                raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
            offset = int(params.get("offset") or 0)
            if offset > 0:
                # Asking from `offset` confirms every update before it: Telegram forgets them.
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            limit = int(params.get("limit") or 100)
            return self._updates[:limit]

    def _api_sendmessage(self, params: dict[str, Any]) -> Any:
        chat_id, text = int(params["chat_id"]), str(params.get("text") or "")
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > MAX_TEXT_LENGTH:
            raise ApiError(400, "Bad Request: message is too long")
        markup = params.get("reply_markup")
        _check_markup(markup)
        with self._lock:
            message_id = next(self._ids)
            message: dict[str, Any] = {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "from": self.me(),
                "text": text,
            }
            if markup:
                message["reply_markup"] = markup
            self._messages[(chat_id, message_id)] = message
            return message

    def _api_sendchataction(self, params: dict[str, Any]) -> Any:
        return True

    def _api_answercallbackquery(self, params: dict[str, Any]) -> Any:
        with self._lock:
            if params["callback_query_id"] not in self._open_queries:
                raise ApiError(
                    400, "Bad Request: query is too old and response timeout expired or query ID is invalid"
                )
            self._open_queries.discard(params["callback_query_id"])
        return True

    def _api_editmessagereplymarkup(self, params: dict[str, Any]) -> Any:
        key = (int(params["chat_id"]), int(params["message_id"]))
        markup = params.get("reply_markup")
        _check_markup(markup)
        with self._lock:
            message = self._messages.get(key)
            if message is None:
                raise ApiError(400, "Bad Request: message to edit not found")
            message.pop("reply_markup", None)
            if markup:
                message["reply_markup"] = markup
            return message

    def _api_setwebhook(self, params: dict[str, Any]) -> Any:
        with self._lock:
            self.webhook = {"url": params["url"], "secret_token": params.get("secret_token")}
        return True

    def _api_deletewebhook(self, params: dict[str, Any]) -> Any:
        with self._lock:
            self.webhook = None
            if str(params.get("drop_pending_updates")).lower() == "true":
                self._updates.clear()
        return True

    def _api_getwebhookinfo(self, params: dict[str, Any]) -> Any:
        with self._lock:
            url = self.webhook["url"] if self.webhook else ""
            return {"url": url, "has_custom_certificate": False, "pending_update_count": len(self._updates)}

    def _api_setmycommands(self, params: dict[str, Any]) -> Any:
        with self._lock:
            self.commands[params.get("language_code")] = params["commands"]
        return True

    def _api_close(self, params: dict[str, Any]) -> Any:
        return True

    def _api_logout(self, params: dict[str, Any]) -> Any:
        return True

    # --- internals -------------------------------------------------------------------------

    def _user_message(self, chat_id: int, language_code: str | None, **content: Any) -> dict[str, Any]:
        return {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Olena"},
            "from": _user(chat_id, language_code),
            **content,
        }

    def _queue(self, update: dict[str, Any]) -> int:
        with self._lock:
            update_id = next(self._ids)
            self._updates.append({"update_id": update_id, **update})
            return update_id

    def _take_for_webhook(self) -> tuple[dict[str, Any], dict[str, Any]] | None:
        with self._lock:
            if self.webhook and self._updates:
                return self.webhook, self._updates[0]
            return None

    def _webhook_answered(self, update: dict[str, Any], status: int) -> None:
        with self._lock:
            self.webhook_posts.append(status)
            if status == 200 and self._updates and self._updates[0] is update:
                self._updates.pop(0)


def _user(user_id: int, language_code: str | None) -> dict[str, Any]:
    user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": "Olena"}
    if language_code:
        user["language_code"] = language_code
    return user


def _check_markup(markup: Any) -> None:
    for row in (markup or {}).get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA_BYTES:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")


def _decode_params(raw: dict[str, str]) -> dict[str, Any]:
    """Form fields as python-telegram-bot sends them: objects and arrays (reply_markup, commands)
    as JSON strings, everything else as plain strings."""
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if value[:1] in ("{", "["):
            with contextlib.suppress(ValueError):
                params[key] = json.loads(value)
                continue
        params[key] = value
    return params


class FakeBotApi:
    """The server; `bot(token)` is one bot's state (created on first use)."""

    def __init__(self) -> None:
        self._bots: dict[str, FakeBot] = {}
        self._lock = threading.Lock()
        self._server: ServerThread | None = None
        self._stopping = threading.Event()  # ends long polls, which would hold up the server's shutdown

    def bot(self, token: str) -> FakeBot:
        with self._lock:
            if token not in self._bots:
                number = len(self._bots) + 1
                self._bots[token] = FakeBot(
                    token=token, id=7_000_000_000 + number, username=f"test_{number}_bot"
                )
            return self._bots[token]

    @property
    def base_url(self) -> str:
        """What python-telegram-bot's base_url should be (it appends the token and the method)."""
        assert self._server is not None
        return f"{self._server.url}/bot"

    @property
    def base_file_url(self) -> str:
        assert self._server is not None
        return f"{self._server.url}/file/bot"

    def __enter__(self) -> FakeBotApi:
        app = Starlette(routes=[Route("/bot{token}/{method}", self._endpoint, methods=["GET", "POST"])])
        self._server = ServerThread(app, on_start=self._push_webhooks)
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._stopping.set()
        self._server.stop()

    async def _endpoint(self, request: Request) -> JSONResponse:
        token, method = request.path_params["token"], request.path_params["method"]
        params = await _read_params(request)
        with self._lock:
            bot = self._bots.get(token)
        if bot is None:
            return _error(Failure(401, "Unauthorized"))
        # Recorded on arrival (a long poll answers only much later), answered when done.
        call = Call(method, params, status=0)
        with bot._lock:
            bot.calls.append(call)
        try:
            result = bot.call(method, params)
            if method.lower() == "getupdates" and not result:
                result = await _long_poll(bot, params, self._stopping)
        except ApiError as error:
            call.status = error.failure.status
            return _error(error.failure)
        # A copy: later edits (editMessageReplyMarkup) must not rewrite what was answered then.
        call.result = copy.deepcopy(result)
        call.status = 200
        return JSONResponse({"ok": True, "result": result})

    async def _push_webhooks(self) -> None:
        """Like Telegram: each bot's pending updates, oldest first, to its webhook, until it takes them."""
        async with httpx.AsyncClient(timeout=10) as client:
            while True:
                with self._lock:
                    bots = list(self._bots.values())
                busy = False
                for bot in bots:
                    taken = bot._take_for_webhook()
                    if taken is None:
                        continue
                    busy = True
                    webhook, update = taken
                    headers = {SECRET_HEADER: webhook["secret_token"]} if webhook.get("secret_token") else {}
                    try:
                        status = (await client.post(webhook["url"], json=update, headers=headers)).status_code
                    except httpx.HTTPError:
                        status = 0
                    bot._webhook_answered(update, status)
                    if status != 200:
                        await asyncio.sleep(0.5)
                if not busy:
                    await asyncio.sleep(0.05)


async def _long_poll(bot: FakeBot, params: dict[str, Any], stopping: threading.Event) -> Any:
    """No update yet: wait up to `timeout` seconds for one, as Telegram does."""
    deadline = time.monotonic() + float(params.get("timeout") or 0)
    while time.monotonic() < deadline and not stopping.is_set():
        await asyncio.sleep(0.05)
        result = bot.call("getUpdates", params)
        if result:
            return result
    return []


async def _read_params(request: Request) -> dict[str, Any]:
    body = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        return json.loads(body) if body else {}
    raw = dict(parse_qsl(body.decode(), keep_blank_values=True)) if body else {}
    raw.update(request.query_params)
    return _decode_params(raw)


def _error(failure: Failure) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, "error_code": failure.status, "description": failure.description}
    if failure.parameters:
        body["parameters"] = failure.parameters
    return JSONResponse(body, status_code=failure.status)
