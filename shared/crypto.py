"""Personal data at rest: AES-256-GCM with the key id stored beside each value, and a
keyed hash (HMAC-SHA256, a "blind index") that finds equal values without decrypting.

Stored form: ``v2:<key id>:<base64url(nonce | ciphertext+tag)>``. The associated data is
the value's place, ``<table>.<column>#<primary key>``: a ciphertext copied into another
column or another row (two citizens' SNILS swapped by someone who can write to the
database) fails to decrypt instead of showing one person's number as another's.

``v2`` marks that binding. Values written before it (``<key id>:<body>``, bound to the
column only) are converted by the portal's migration ``d4e6f8a0b2c4`` and refused here
afterwards, so an old value restored from a backup cannot be moved between rows either.

Keys come from configuration as ``{"key id": "base64url of 32 bytes"}``; the active one
encrypts, all of them decrypt, and re-encryption under a new key is a command of the app
(``flask --app portal pii reencrypt``). The blind index is not bound to the row: it must
find equal values across rows.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from dataclasses import dataclass

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import Flask, current_app
from sqlalchemy.orm import object_session

VERSION = "v2"  # row-bound values; see the module's docstring


class CryptoConfigError(RuntimeError):
    pass


class PiiIntegrityError(CryptoConfigError):
    """A stored value does not open at its place: moved from another row or column,
    altered, or stored before row binding. The message names the place, never the data."""


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
class Place:
    """Where a value is stored: its table, its column and its row's primary key."""

    table: str
    column: str
    row_id: str

    @property
    def associated_data(self) -> bytes:
        return f"{self.table}.{self.column}#{self.row_id}".encode()

    def __str__(self) -> str:
        return f"{self.table}.{self.column} of row {self.row_id}"


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

    def encrypt(self, plaintext: str, place: Place) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[self.active]).encrypt(
            nonce, plaintext.encode(), place.associated_data
        )
        body = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{VERSION}:{self.active}:{body}"

    def decrypt(self, stored: str, place: Place) -> str:
        parts = stored.split(":")
        if len(parts) == 2:
            raise PiiIntegrityError(
                f"{place} was stored before values were bound to their row: "
                "`flask --app portal db upgrade` converts such values"
            )
        if len(parts) != 3 or parts[0] != VERSION:
            raise PiiIntegrityError(f"{place} holds no encrypted value")
        _version, kid, body = parts
        if kid not in self.keys:
            raise CryptoConfigError(f"{place} is encrypted under unknown key {kid!r}")
        try:
            raw = _b64decode(body)
            return (
                AESGCM(self.keys[kid]).decrypt(raw[:12], raw[12:], place.associated_data).decode()
            )
        except (InvalidTag, binascii.Error, ValueError) as exc:
            raise PiiIntegrityError(
                f"{place} does not decrypt: it was written for another row or column, or altered"
            ) from exc

    def key_id_of(self, stored: str) -> str:
        parts = stored.split(":")
        return parts[1] if len(parts) == 3 else parts[0]

    def needs_reencryption(self, stored: str) -> bool:
        return not stored.startswith(f"{VERSION}:") or self.key_id_of(stored) != self.active

    def blind_index(self, value: str, *, field: str) -> str:
        """Deterministic keyed hash of a normalised value, scoped to its field."""
        return hmac.new(self.index_key, f"{field}:{value}".encode(), hashlib.sha256).hexdigest()


def init_crypto(app: Flask) -> None:
    app.extensions["pii"] = PiiCipher.from_config(
        app.config["PII_KEYS"], app.config.get("PII_ACTIVE_KEY"), app.config["BLIND_INDEX_KEY"]
    )


def pii() -> PiiCipher:
    return current_app.extensions["pii"]


# --- values in ORM rows ---------------------------------------------------------------


def _primary_key(row: object) -> list[object]:
    return sa.inspect(row).mapper.primary_key_from_instance(row)


def place_of(row: object, column: str) -> Place:
    """The place of ``row.<column>``; the row must have its primary key."""
    key = _primary_key(row)
    if any(part is None for part in key):
        raise RuntimeError(f"{type(row).__name__} has no primary key yet: seal() inserts it")
    return Place(sa.inspect(row).mapper.local_table.name, column, "/".join(map(str, key)))


def seal(row: object, **plaintexts: str) -> None:
    """Encrypt each ``column=plaintext`` into ``row``, bound to the row's place.

    A new row has no primary key until it is inserted: it must be in a session, and is
    flushed first with empty values in the sealed columns, which are filled in before the
    transaction commits (nobody else sees the row before then). So an ``IntegrityError``
    of the insert is raised here, not at the caller's commit.
    """
    if any(part is None for part in _primary_key(row)):
        session = object_session(row)
        if session is None:
            raise RuntimeError(f"add the new {type(row).__name__} to a session before seal()")
        for column in plaintexts:
            if getattr(row, column) is None:
                setattr(row, column, "")
        session.flush()
    cipher = pii()
    for column, plaintext in plaintexts.items():
        setattr(row, column, cipher.encrypt(plaintext, place_of(row, column)))


def unseal(row: object, column: str) -> str | None:
    """The plaintext of ``row.<column>`` (None when the column is empty); raises
    ``PiiIntegrityError`` when the stored value was not written for this place."""
    stored = getattr(row, column)
    if stored is None:
        return None
    return pii().decrypt(stored, place_of(row, column))
