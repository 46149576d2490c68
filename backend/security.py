"""Secrets handling: HMACs for codes and rate-limit keys, argon2 for staff passwords, JWTs, masking."""

import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import VerificationError

CODE_LENGTH = 6
PERSON_TOKEN_TTL = timedelta(minutes=15)
STAFF_TOKEN_TTL = timedelta(hours=8)
_ALGORITHM = "HS256"

password_hasher = PasswordHasher()


@functools.cache
def _dummy_password_hash() -> str:
    """Checked against when a staff username is unknown, so that a miss costs as much as a wrong password."""
    return password_hasher.hash(secrets.token_urlsafe(16))


def keyed_hash(secret: str, value: str) -> str:
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_LENGTH):0{CODE_LENGTH}d}"


def new_verification_id() -> str:
    return secrets.token_urlsafe(24)


def code_hmac(secret: str, verification_id: str, code: str) -> str:
    # Bound to the verification, so equal codes of two verifications do not hash alike.
    return keyed_hash(secret, f"code:{verification_id}:{code}")


def code_matches(secret: str, verification_id: str, code: str, stored_hmac: str) -> bool:
    return hmac.compare_digest(code_hmac(secret, verification_id, code), stored_hmac)


def hash_password(password: str) -> str:
    return password_hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """argon2 check; with no hash (unknown user) it still does the same work and returns False."""
    try:
        password_hasher.verify(password_hash or _dummy_password_hash(), password)
    except VerificationError:
        return False
    return password_hash is not None


TokenKind = Literal["person", "staff"]


@dataclass(frozen=True)
class TokenClaims:
    subject: str
    kind: TokenKind
    role: str | None = None


def issue_token(secret: str, claims: TokenClaims, now: datetime, ttl: timedelta) -> str:
    payload = {"sub": claims.subject, "typ": claims.kind, "iat": now, "exp": now + ttl}
    if claims.role:
        payload["role"] = claims.role
    return jwt.encode(payload, secret, algorithm=_ALGORITHM)


def read_token(secret: str, token: str, kind: TokenKind, now: datetime) -> TokenClaims | None:
    """The claims of a valid, unexpired token of that kind, else None."""
    try:
        # Expiry is checked against our clock (tests move it), not the wall clock pyjwt would use.
        payload = jwt.decode(
            token,
            secret,
            algorithms=[_ALGORITHM],
            options={"verify_exp": False, "verify_iat": False, "require": ["sub", "typ", "exp"]},
        )
    except jwt.InvalidTokenError:
        return None
    expires = payload.get("exp")
    if payload.get("typ") != kind or not isinstance(expires, int) or expires <= now.timestamp():
        return None
    return TokenClaims(subject=str(payload["sub"]), kind=kind, role=payload.get("role"))
