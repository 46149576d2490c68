"""Logging with personal data masked: PESEL numbers, e-mail addresses and phone numbers never reach a log
(common/pii.py, `for_logs`)."""

import logging
import logging.config
from typing import Any

from common.pii import for_logs

# The logs' audience of the masking policy (common/pii.py). `mask` is its name for the modules
# that mask log-like text (the console's failure view, the scale-out audit).
mask = for_logs


def _mask_arg(value: Any) -> Any:
    if isinstance(value, bool | float) or value is None:
        return value
    masked = for_logs(str(value))
    # Keep the original object when nothing changed, so %d and %r still format it as before.
    return value if masked == str(value) else masked


class PiiMaskingFilter(logging.Filter):
    """Masks the message, its arguments and any traceback of every record passing through a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg, args = record.msg, record.args
        record.msg = mask(str(msg))
        if isinstance(args, dict):
            record.args = {key: _mask_arg(value) for key, value in args.items()}
        elif args:
            # Argument-wise rather than pre-rendered: uvicorn's access formatter unpacks record.args.
            record.args = tuple(_mask_arg(value) for value in args)
        try:
            record.getMessage()
        except (TypeError, ValueError):
            # A masked number no longer fits its %d: fall back to the original text, rendered, then masked.
            record.msg, record.args = msg, args
            try:
                rendered = record.getMessage()
            except (TypeError, ValueError):
                rendered = str(msg)
            record.msg, record.args = mask(rendered), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        return True


def logging_config(level: str = "info") -> dict[str, Any]:
    """A dictConfig for the service and uvicorn: one stderr handler, masked."""
    handler = {"class": "logging.StreamHandler", "filters": ["mask_pii"], "stream": "ext://sys.stderr"}
    loggers: dict[str, Any] = {
        "uvicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
        "uvicorn": {"handlers": ["default"], "level": level.upper(), "propagate": False},
        # httpx logs every request's URL at INFO; some carry secrets (Rasa's ?token=, a Telegram bot token).
        "httpx": {"level": "WARNING"},
    }
    if level.lower() == "debug":
        # SQLAlchemy keeps its own loggers at WARNING unless told; at debug level, show every statement.
        loggers["sqlalchemy.engine"] = {"level": "INFO"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"mask_pii": {"()": PiiMaskingFilter}},
        "formatters": {
            "default": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
            "access": {
                "()": "uvicorn.logging.AccessFormatter",
                "fmt": '%(asctime)s %(levelname)s access: %(client_addr)s "%(request_line)s" %(status_code)s',
            },
        },
        "handlers": {
            "default": {**handler, "formatter": "default"},
            "access": {**handler, "formatter": "access"},
        },
        "loggers": loggers,
        "root": {"handlers": ["default"], "level": level.upper()},
    }


def configure_logging(level: str = "info") -> None:
    logging.config.dictConfig(logging_config(level))


def mask_every_handler() -> None:
    """Add the masking filter to every handler configured so far, on the root logger and on named
    loggers: for processes whose logging someone else sets up (Rasa, the action server)."""
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    for logger in loggers:
        for handler in getattr(logger, "handlers", []):
            if not any(isinstance(f, PiiMaskingFilter) for f in handler.filters):
                handler.addFilter(PiiMaskingFilter())
