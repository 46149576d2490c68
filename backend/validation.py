"""Input types for request bodies: PESEL, e-mail, username and plain text without NUL characters.

The error types (invalid_pesel, ...) become the error codes of a 422 answer (see backend.errors).
"""

import re
from typing import Annotated

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, StringConstraints
from pydantic_core import PydanticCustomError
from stdnum.exceptions import ValidationError as StdnumValidationError
from stdnum.pl import pesel as stdnum_pesel

USERNAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{1,63}")


def check_pesel(value: str) -> str:
    """Checksum and a real birth date; python-stdnum also accepts spaces, which a PESEL field should not."""
    if not (len(value) == 11 and value.isascii() and value.isdigit()):
        raise PydanticCustomError("invalid_pesel", "A PESEL is 11 digits.")
    try:
        return stdnum_pesel.validate(value)
    except StdnumValidationError:
        raise PydanticCustomError("invalid_pesel", "This PESEL fails the checksum or date check.") from None


def check_email(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        raise PydanticCustomError("invalid_email", "This is not a valid e-mail address.") from None


def check_username(value: str) -> str:
    if not USERNAME_PATTERN.fullmatch(value):
        raise PydanticCustomError("invalid_username", "A username is 2-64 letters, digits and . _ @ -")
    return value


def check_no_nul(value: str) -> str:
    # PostgreSQL cannot store NUL in text; refusing it here keeps such input a 422, not a 500.
    if "\x00" in value:
        raise PydanticCustomError("string_nul", "Text must not contain NUL characters.")
    return value


Pesel = Annotated[str, AfterValidator(check_pesel)]
Email = Annotated[str, AfterValidator(check_email)]
Username = Annotated[str, AfterValidator(check_username)]
# Identifiers from other systems (conversation ids, channel names), a ticket's reason, a message's text.
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(check_no_nul)]
ReasonText = Annotated[str, StringConstraints(min_length=1, max_length=500), AfterValidator(check_no_nul)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=4000), AfterValidator(check_no_nul)]
