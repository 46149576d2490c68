"""The logging filter masks PESEL numbers, e-mail addresses and phone numbers in every part of a record."""

import logging
import sys
from typing import Any

import pytest
from uvicorn.logging import AccessFormatter

from common.logs import PiiMaskingFilter, logging_config, mask


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pesel 85070312345 given", "pesel <pesel> given"),
        ("mail Olena.Kovalenko+x@example.org.", "mail <email>."),
        ("/v1/dev/mailbox?to=olena.kovalenko%40example.org", "/v1/dev/mailbox?to=<email>"),
        ("call +48600100001 or +48 600 100 001", "call <phone> or <phone>"),
        ("?to=%2B48600100001", "?to=<phone>"),
        ("call 600100001 or 600-100-001", "call <phone> or <phone>"),
        ("ticket 42 at 2026-11-22 10:15:00, 3 attempts", "ticket 42 at 2026-11-22 10:15:00, 3 attempts"),
    ],
)
def test_mask(text: str, expected: str) -> None:
    assert mask(text) == expected


def filtered(record: logging.LogRecord) -> logging.LogRecord:
    assert PiiMaskingFilter().filter(record)
    return record


def make_record(msg: str, args: Any, exc_info: Any = None) -> logging.LogRecord:
    """Any: the records under test hold what logging calls pass, odd values included."""
    return logging.LogRecord("test", logging.INFO, __file__, 1, msg, args, exc_info)


def test_arguments_are_masked_and_still_format() -> None:
    record = filtered(make_record("lookup of %s by %s took %d ms", ("85070312345", "agent", 12), None))
    assert record.getMessage() == "lookup of <pesel> by agent took 12 ms"


def test_a_number_argument_that_is_a_pesel_is_masked_too() -> None:
    record = filtered(make_record("pesel %d", (85070312345,), None))
    assert record.getMessage() == "pesel <pesel>"


def test_uvicorn_access_records_keep_their_shape() -> None:
    args = ("127.0.0.1:5000", "GET", "/v1/dev/mailbox?to=a%40example.org", "1.1", 200)
    record = filtered(make_record('%s - "%s %s HTTP/%s" %d', args, None))
    line = AccessFormatter(fmt='%(client_addr)s "%(request_line)s" %(status_code)s', use_colors=False).format(
        record
    )
    assert line == '127.0.0.1:5000 "GET /v1/dev/mailbox?to=<email> HTTP/1.1" 200 OK'


def test_tracebacks_are_masked() -> None:
    try:
        raise ValueError("duplicate key (pesel)=(85070312345)")
    except ValueError:
        record = filtered(make_record("failed", None, sys.exc_info()))
    text = logging.Formatter().format(record)
    assert "85070312345" not in text and "(pesel)=(<pesel>)" in text


def test_the_service_log_handlers_carry_the_filter() -> None:
    config = logging_config("info")
    assert all(handler["filters"] == ["mask_pii"] for handler in config["handlers"].values())
