"""Signed JSON messages between the portal and the registries (both directions).

A sender signs ``<unix time>.<raw body>`` with HMAC-SHA256 under a key both sides share
and sends ``X-Timestamp`` and ``X-Signature: sha256=<hex>``. A receiver accepts the
message only when the signature matches (constant-time comparison) and the timestamp
is within ``max_age`` seconds either way; replays inside that window are the receiver's
to refuse by the message's own id.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from shared.validators import is_ascii_number

TIMESTAMP_HEADER = "X-Timestamp"
SIGNATURE_HEADER = "X-Signature"
DEFAULT_MAX_AGE = 300


class SignatureError(ValueError):
    """The message is not signed by the expected party, or is too old."""


def _mac(key: str, timestamp: str, body: bytes) -> str:
    return hmac.new(key.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def sign(
    key: str, payload: dict[str, Any], now: float | None = None
) -> tuple[bytes, dict[str, str]]:
    """Serialise ``payload`` and return ``(body, headers)`` ready to POST."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    timestamp = str(int(now if now is not None else time.time()))
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: f"sha256={_mac(key, timestamp, body)}",
    }
    return body, headers


def verify(
    key: str, body: bytes, headers, max_age: int = DEFAULT_MAX_AGE, now: float | None = None
) -> dict:
    """Return the JSON payload of a correctly signed, fresh message, or raise."""
    timestamp = headers.get(TIMESTAMP_HEADER) or ""
    given = (headers.get(SIGNATURE_HEADER) or "").removeprefix("sha256=")
    if not is_ascii_number(timestamp) or not given or not given.isascii():
        raise SignatureError("missing signature")
    if not hmac.compare_digest(_mac(key, timestamp, body), given):
        raise SignatureError("bad signature")
    if abs((now if now is not None else time.time()) - int(timestamp)) > max_age:
        raise SignatureError("stale message")
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise SignatureError("body is not JSON") from exc
    if not isinstance(payload, dict):
        raise SignatureError("body is not a JSON object")
    return payload
