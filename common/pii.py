"""What of a PESEL number, an e-mail address and a phone number each audience may see: the one
place this privacy decision is made (docs/privacy.md describes it; tests/unit/test_pii.py pins it).

| audience                                   | PESEL          | e-mail             | phone     |
|--------------------------------------------|----------------|--------------------|-----------|
| logs (`for_logs`)                          | `<pesel>`      | `<email>`          | `<phone>` |
| stored analytics (`for_analytics`)         | `<pesel>`      | `<email>`          | `<phone>` |
| staff view (`pesel_for_staff`)             | `•••••••1234`  | in full            | in full   |
| the person's own record (`*_for_record`)   | `•••••••••45`  | `o•••@example.org` | —         |

Logs and stored analytics (the channel service's messages, Rasa's tracker store, the console's
failure view) get free text with every value replaced by its kind. Staff see the last four digits
of a PESEL until they reveal it (the backend's audit log keeps the same four); a person's own
conversation record (slots shown back in the chat) keeps two digits and the e-mail's first letter.
Raw values are kept only by the account backend.
"""

from __future__ import annotations

import re
from typing import Final

MASK: Final = "•"
# Digits of a PESEL each audience may see (the last ones).
STAFF_PESEL_DIGITS: Final = 4
RECORD_PESEL_DIGITS: Final = 2

# Order matters: e-mails first (they may contain digits), then numbers with a country code, then PESEL,
# then anything else phone-like. Query strings in access logs are URL-encoded: %40 is "@", %2B is "+".
_PATTERNS: Final = (
    (re.compile(r"[\w.+-]+(?:@|%40)[\w-]+(?:\.[\w-]+)+", re.IGNORECASE), "<email>"),
    (re.compile(r"(?:\+|%2B)\d(?:[ -]?\d){7,14}(?!\d)", re.IGNORECASE), "<phone>"),
    (re.compile(r"(?<!\d)\d{11}(?!\d)"), "<pesel>"),
    # Without a country code: 9+ digits in a row, or the Polish 3-3-3 grouping.
    (re.compile(r"(?<![\d.])\d{9,15}(?!\d)|(?<!\d)\d{3}[ -]\d{3}[ -]\d{3}(?!\d)"), "<phone>"),
)


def _replace_values(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def for_logs(text: str) -> str:
    """A log line: every PESEL, e-mail and phone number replaced by `<pesel>`, `<email>`, `<phone>`."""
    return _replace_values(text)


def for_analytics(text: str) -> str:
    """Text stored for later reading (the channel service's messages, Rasa's tracker store, the
    console's failure view): masked as for logs."""
    return _replace_values(text)


def _last_digits(pesel: str, shown: int) -> str:
    return MASK * (len(pesel) - shown) + pesel[-shown:]


def pesel_for_staff(pesel: str) -> str:
    """A PESEL in the console (until revealed) and in the backend's audit log: the last four digits."""
    return _last_digits(pesel, STAFF_PESEL_DIGITS)


def pesel_for_record(pesel: str) -> str:
    """What of a PESEL may stay in the person's conversation record: the last two digits."""
    return _last_digits(pesel, RECORD_PESEL_DIGITS)


def email_for_record(email: str) -> str:
    """What of an e-mail address may stay in the person's conversation record: its first letter and
    its domain."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}{MASK * 3}@{domain}"
