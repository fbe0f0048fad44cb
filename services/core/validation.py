"""Validation and normalisation of account and profile input; each failure is ``BadInput(field, message)``.

Rules: username ``^[a-z0-9._]{1,30}$`` after lower-casing (stored lower-case: uniqueness is
case-insensitive); email syntax-checked by ``email-validator`` (no DNS), lower-cased, at most 254 characters
(RFC 5321 path limit); password 8..256 characters; display name at most 64 and bio at most 150 characters.
Lengths are checked before anything reaches the graph: FalkorDB crashes on multi-KB values of properties
with a uniqueness constraint.
"""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

from services.core.errors import BadInput

USERNAME_RE = re.compile(r"^[a-z0-9._]{1,30}$")
USERNAME_MAX = 30
EMAIL_MAX = 254
PASSWORD_MIN, PASSWORD_MAX = 8, 256
DISPLAY_NAME_MAX = 64
BIO_MAX = 150


def normalize_username(raw: str, *, field: str = "username") -> str:
    """Lower-cased username; raises ``BadInput(field)`` unless it matches ``^[a-z0-9._]{1,30}$``."""
    if len(raw) > USERNAME_MAX:
        raise BadInput(field, f"Username must be at most {USERNAME_MAX} characters.")
    username = raw.lower()
    if not USERNAME_RE.fullmatch(username):
        raise BadInput(field, "Username may contain only letters, digits, '.' and '_' (1 to 30 characters).")
    return username


def is_valid_username(raw: str) -> bool:
    """True when ``raw`` lower-cased is a well-formed username (lookups skip the graph otherwise)."""
    return len(raw) <= USERNAME_MAX and USERNAME_RE.fullmatch(raw.lower()) is not None


def normalize_email(raw: str, *, field: str = "email") -> str:
    """Normalised, lower-cased email; raises ``BadInput(field)`` when malformed or over 254 characters."""
    if len(raw) > EMAIL_MAX:
        raise BadInput(field, f"Email must be at most {EMAIL_MAX} characters.")
    try:
        checked = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as exc:
        raise BadInput(field, "Email address is not valid.") from exc
    email = checked.normalized.lower()
    if len(email) > EMAIL_MAX:
        raise BadInput(field, f"Email must be at most {EMAIL_MAX} characters.")
    return email


def check_password(password: str, *, field: str = "password") -> str:
    """``password`` unchanged; raises ``BadInput(field)`` unless it has 8 to 256 characters."""
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise BadInput(field, f"Password must be {PASSWORD_MIN} to {PASSWORD_MAX} characters.")
    return password


def clean_display_name(raw: str | None, *, field: str = "displayName") -> str | None:
    """Stripped display name (``None`` for null or blank); raises ``BadInput(field)`` over 64 characters."""
    return _clean_text(raw, DISPLAY_NAME_MAX, field, "Display name")


def clean_bio(raw: str | None, *, field: str = "bio") -> str | None:
    """Stripped bio (``None`` for null or blank); raises ``BadInput(field)`` over 150 characters."""
    return _clean_text(raw, BIO_MAX, field, "Bio")


def _clean_text(raw: str | None, limit: int, field: str, label: str) -> str | None:
    if raw is None:
        return None
    text = raw.strip()
    if len(text) > limit:
        raise BadInput(field, f"{label} must be at most {limit} characters.")
    if "\x00" in text:
        raise BadInput(field, f"{label} contains a NUL character.")
    return text or None
