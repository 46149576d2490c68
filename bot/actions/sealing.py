"""Values a form needs on a later turn, sealed for the conversation's record.

Rasa's tracker store masks PESEL numbers, e-mail addresses and phone numbers when it saves a turn
(bot/masking_tracker_store.py), so a slot read on the next turn holds what was saved. A value
that must survive (the username of a password reset, which may be an e-mail address, waits for
the PESEL) is kept encrypted instead: only the action servers, which share SLOT_SEAL_KEY, can open it, and it
expires with the form's time. The key is its own secret: rotating the backend's service token or
signing key leaves sealed values readable (common/environment.py refuses the development key in
production).
"""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.fernet import Fernet, InvalidToken

from common.environment import DEV_SLOT_SEAL_KEY

PREFIX = "sealed:"
MAX_AGE_SECONDS = 3600
# Letters only, so that masking (digit runs, "@") can never touch a sealed value.
_TO_LETTERS = str.maketrans("0123456789abcdef", "abcdefghijklmnop")
_FROM_LETTERS = str.maketrans("abcdefghijklmnop", "0123456789abcdef")


def _fernet() -> Fernet:
    # Any length of secret makes a Fernet key; the label keeps this use of it apart from others.
    secret = os.environ.get("SLOT_SEAL_KEY") or DEV_SLOT_SEAL_KEY
    key = hashlib.sha256(b"onboarding-helper/slot-seal/" + secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(value: str) -> str:
    return PREFIX + _fernet().encrypt(value.encode()).hex().translate(_TO_LETTERS)


def unseal(sealed: object) -> str | None:
    """The sealed value; None for anything else (a typed value, a forged one, an expired seal)."""
    if not isinstance(sealed, str) or not sealed.startswith(PREFIX):
        return None
    try:
        token = bytes.fromhex(sealed.removeprefix(PREFIX).translate(_FROM_LETTERS))
        return _fernet().decrypt(token, ttl=MAX_AGE_SECONDS).decode()
    except (InvalidToken, ValueError):
        return None
