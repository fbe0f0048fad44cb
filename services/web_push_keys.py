"""The VAPID key of Web Push (RFC 8292), from the ``INSTAGRAPH_VAPID_PRIVATE_KEY`` setting.

Accepted forms (``py_vapid``): a PEM private key (newlines may be written ``\\n`` in an env file), or the
base64url of its DER or of the raw 32-byte P-256 scalar. Generate one with ``vapid --gen`` (py-vapid's CLI)
or :func:`generate_vapid_pem`. The public key (``applicationServerKey`` for the browser's
``pushManager.subscribe``) is :func:`public_key_b64`.
"""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02, VapidException


def load_vapid(setting: str) -> Vapid02 | None:
    """The signing key of ``setting``, ``None`` when empty (Web Push off); raises ``ValueError`` when the
    key cannot be read (a misconfiguration must not pass silently)."""
    text = setting.strip().replace("\\n", "\n")
    if not text:
        return None
    try:
        if text.startswith("-----BEGIN"):
            return Vapid02.from_pem(text.encode())
        return Vapid02.from_string(text)
    except (VapidException, ValueError, TypeError) as exc:
        raise ValueError(f"INSTAGRAPH_VAPID_PRIVATE_KEY is not a usable P-256 private key: {exc}") from exc


def generate_vapid_pem() -> str:
    """A new P-256 private key as PKCS#8 PEM text (for settings of tests and dev stacks)."""
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_key_b64(vapid: Vapid02) -> str:
    """The key's public half as unpadded base64url of the uncompressed point (the browser's
    ``applicationServerKey``)."""
    raw = vapid.public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
