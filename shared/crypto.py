"""Personal data at rest: AES-256-GCM with the key id stored beside each value, and a
keyed hash (HMAC-SHA256, a "blind index") that finds equal values without decrypting.

Stored form: ``<key id>:<base64url(nonce | ciphertext+tag)>``. The column name is bound
as associated data, so a value copied into another column does not decrypt. Keys come
from configuration as ``{"key id": "base64url of 32 bytes"}``; the active one encrypts,
all of them decrypt, and re-encryption under a new key is a command of the app.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import Flask, current_app


class CryptoConfigError(RuntimeError):
    pass


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key_bytes(kid: str, text: str) -> bytes:
    try:
        raw = _b64decode(text)
    except (binascii.Error, ValueError) as exc:
        raise CryptoConfigError(f"key {kid!r} is not base64url") from exc
    if len(raw) != 32:
        raise CryptoConfigError(f"key {kid!r} must be 32 bytes, it is {len(raw)}")
    return raw


@dataclass(frozen=True)
class PiiCipher:
    keys: dict[str, bytes]
    active: str
    index_key: bytes

    @classmethod
    def from_config(cls, keys_json: str | dict, active: str | None, index_key: str) -> PiiCipher:
        spec = json.loads(keys_json) if isinstance(keys_json, str) else dict(keys_json)
        if not spec:
            raise CryptoConfigError("no PII keys configured")
        keys = {kid: _key_bytes(kid, value) for kid, value in spec.items()}
        active = active or next(iter(keys))
        if active not in keys:
            raise CryptoConfigError(f"the active key {active!r} is not among the PII keys")
        return cls(keys=keys, active=active, index_key=hashlib.sha256(index_key.encode()).digest())

    def encrypt(self, plaintext: str, *, field: str) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[self.active]).encrypt(nonce, plaintext.encode(), field.encode())
        return f"{self.active}:{base64.urlsafe_b64encode(nonce + sealed).decode().rstrip('=')}"

    def decrypt(self, stored: str, *, field: str) -> str:
        kid, _, body = stored.partition(":")
        if kid not in self.keys:
            raise CryptoConfigError(f"value encrypted under unknown key {kid!r}")
        raw = _b64decode(body)
        try:
            return AESGCM(self.keys[kid]).decrypt(raw[:12], raw[12:], field.encode()).decode()
        except InvalidTag as exc:
            raise CryptoConfigError("value does not decrypt: tampered or wrong field") from exc

    def key_id_of(self, stored: str) -> str:
        return stored.partition(":")[0]

    def needs_reencryption(self, stored: str) -> bool:
        return self.key_id_of(stored) != self.active

    def blind_index(self, value: str, *, field: str) -> str:
        """Deterministic keyed hash of a normalised value, scoped to its field."""
        return hmac.new(self.index_key, f"{field}:{value}".encode(), hashlib.sha256).hexdigest()


def init_crypto(app: Flask) -> None:
    app.extensions["pii"] = PiiCipher.from_config(
        app.config["PII_KEYS"], app.config.get("PII_ACTIVE_KEY"), app.config["BLIND_INDEX_KEY"]
    )


def pii() -> PiiCipher:
    return current_app.extensions["pii"]
