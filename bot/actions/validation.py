"""Checks of what the forms collect, each failure named by the response that explains it.

A check returns the clean value, or raises Invalid with the name of the response that tells the
person why the value was refused (the texts live in knowledge/accounts.yml).
"""

from __future__ import annotations

import datetime as dt
import re

from email_validator import EmailNotValidError, validate_email
from stdnum.exceptions import InvalidChecksum, InvalidComponent, ValidationError
from stdnum.pl import pesel as pesel_number

CODE_LENGTH = 6
USERNAME = re.compile(r"[A-Za-z0-9._@-]{3,64}")


class Invalid(ValueError):
    def __init__(self, response: str) -> None:
        super().__init__(response)
        self.response = response


def clean_pesel(text: str, today: dt.date | None = None) -> str:
    """The 11 digits of a PESEL typed with or without spaces and dashes."""
    digits = re.sub(r"[\s-]", "", text or "")
    if not digits.isdigit() or len(digits) != 11:
        raise Invalid("utter_invalid_pesel_format")
    try:
        pesel_number.validate(digits)
    except InvalidChecksum as error:
        raise Invalid("utter_invalid_pesel_checksum") from error
    except (InvalidComponent, ValidationError) as error:
        raise Invalid("utter_invalid_pesel_date") from error
    if pesel_number.get_birth_date(digits) > (today or dt.date.today()):
        raise Invalid("utter_invalid_pesel_date")
    return digits


def clean_email(text: str) -> str:
    try:
        return validate_email((text or "").strip(), check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise Invalid("utter_invalid_email") from error


def clean_code(text: str) -> str:
    digits = re.sub(r"\s", "", text or "")
    if not digits.isdigit() or len(digits) != CODE_LENGTH:
        raise Invalid("utter_invalid_code_format")
    return digits


def clean_username(text: str) -> str:
    username = (text or "").strip()
    if not USERNAME.fullmatch(username):
        raise Invalid("utter_invalid_username")
    return username
