"""The portal's signing keys: one active key per algorithm, rotation, and the JWKS.

The active key of an algorithm signs; ``rotate_keys`` retires it and makes a new one.
A retired key stays published in the JWKS (OpenID Connect Core 1.0 §10.1.1, RFC 7517
§5) until every token it may have signed has expired, so relying parties and the portal
itself (an ``id_token_hint``) can still verify those tokens; after ``publish_until`` it
leaves the JWKS and ``prune_keys`` may delete it. Keys are created on first use, so the
app factory does no database work.

kids are RFC 7638 thumbprints. joserfc does not add the ``kid`` header by itself when
given a single key: signers pass ``{"alg": alg, "kid": key.kid}``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta

import click
import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from joserfc import jwk
from joserfc.jwk import ECKey, Key, KeySet, RSAKey
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.oidc.key_models import SigningKey
from shared.crypto import seal, unseal
from shared.errors import DomainError
from shared.sessions import utcnow

SUPPORTED_ALGS = ("RS256", "ES256")

# RS256 with 2048-bit RSA (NIST SP 800-131A: acceptable through 2030); ES256 on P-256
# (RFC 7518 §3.4 fixes the curve).
_GENERATORS: dict[str, Callable[[dict], Key]] = {
    "RS256": lambda parameters: RSAKey.generate_key(2048, parameters=parameters),
    "ES256": lambda parameters: ECKey.generate_key("P-256", parameters=parameters),
}

# Verifiers accept tokens this long past "exp" for clock skew; a retired key stays
# published for the longest token lifetime plus this leeway.
CLOCK_LEEWAY_SECONDS = 60
DEFAULT_TOKEN_LIFETIME = 300


class KeyRotationConflict(DomainError):
    status = 409
    code = "conflict"
    default_message = _l("The signing keys were changed at the same time; try again.")


def _check_alg(alg: str) -> None:
    if alg not in SUPPORTED_ALGS:
        raise ValueError(f"unsupported signing algorithm {alg!r}")


def _find_active(alg: str) -> SigningKey | None:
    return db.session.execute(
        sa.select(SigningKey).where(SigningKey.alg == alg, SigningKey.retired_at.is_(None))
    ).scalar_one_or_none()


def _new_key(alg: str, now: datetime) -> SigningKey:
    """A new key pair, inserted (an ``IntegrityError`` if another active key of ``alg``
    appeared meanwhile) with its private half encrypted, bound to the new row."""
    key = _GENERATORS[alg]({"alg": alg, "use": "sig"})
    key.ensure_kid()  # RFC 7638 thumbprint
    row = SigningKey(kid=key.kid, alg=alg, public_jwk=key.as_dict(private=False), created_at=now)
    db.session.add(row)
    seal(row, private_jwk_encrypted=json.dumps(key.as_dict(private=True)))
    return row


def _active_row(alg: str) -> SigningKey:
    """The active key of ``alg``, created (and committed) if there is none yet."""
    row = _find_active(alg)
    if row is not None:
        return row
    try:
        row = _new_key(alg, utcnow())
        db.session.commit()
    except IntegrityError:
        # Another process created the key first (the partial unique index refused ours):
        # use theirs.
        db.session.rollback()
        winner = _find_active(alg)
        if winner is None:
            raise
        return winner
    return row


def _private_key(row: SigningKey) -> Key:
    key = jwk.import_key(json.loads(unseal(row, "private_jwk_encrypted")))
    # A key that does not match its kid would sign tokens no one can verify.
    if key.thumbprint() != row.kid:
        raise RuntimeError(f"signing key {row.kid} does not match its thumbprint")
    return key


def active_key(alg: str) -> Key:
    """The private key that signs with ``alg`` now (its ``kid``, ``alg`` and ``use`` set).

    On first use for ``alg`` the key is created and the session committed.
    """
    _check_alg(alg)
    return _private_key(_active_row(alg))


def ensure_keys() -> None:
    """Create the active key of every supported algorithm that has none (idempotent)."""
    for alg in SUPPORTED_ALGS:
        _active_row(alg)


def _published(now: datetime) -> list[SigningKey]:
    """Active keys and retired keys still in their publication window: RS256 first (the
    default algorithm of ID tokens, OpenID Connect Core 1.0 §3.1.3.7), then by algorithm
    the active key and the retired ones, newest first."""

    def query() -> list[SigningKey]:
        return list(
            db.session.execute(
                sa.select(SigningKey)
                .where(
                    SigningKey.alg.in_(SUPPORTED_ALGS),
                    sa.or_(SigningKey.retired_at.is_(None), SigningKey.publish_until > now),
                )
                .order_by(SigningKey.id.desc())
            ).scalars()
        )

    rows = query()
    if {row.alg for row in rows if row.is_active} != set(SUPPORTED_ALGS):
        # A JWKS fetched before the first token is signed must not be empty: relying
        # parties cache it.
        ensure_keys()
        rows = query()
    return sorted(rows, key=lambda row: (SUPPORTED_ALGS.index(row.alg), not row.is_active))


def jwks(now: datetime | None = None) -> dict[str, list[dict]]:
    """The JSON Web Key Set to publish (RFC 7517 §5): public members only."""
    return {"keys": [dict(row.public_jwk) for row in _published(now or utcnow())]}


def public_key_set(now: datetime | None = None) -> KeySet:
    """The keys of ``jwks()`` as a joserfc ``KeySet``, to verify tokens the portal issued.

    ``jwt.decode`` picks the key by the token's ``kid`` and refuses one whose ``alg``
    differs from the token's.
    """
    return KeySet.import_key_set(jwks(now))


def default_publish_window() -> timedelta:
    """How long a retired key stays published: the longest lifetime of a token it may
    have signed, plus the clock-skew leeway verifiers allow."""
    config = current_app.config
    longest = max(
        int(config.get("ID_TOKEN_LIFETIME", DEFAULT_TOKEN_LIFETIME)),
        int(config.get("ACCESS_TOKEN_LIFETIME", DEFAULT_TOKEN_LIFETIME)),
    )
    return timedelta(seconds=longest + CLOCK_LEEWAY_SECONDS)


def rotate_keys(now: datetime | None = None, publish_for: timedelta | None = None) -> list[str]:
    """Retire the active key of every algorithm and create a new one; return the new kids.

    A retired key stays in the JWKS until ``now + publish_for`` (by default
    ``default_publish_window()``). The new keys sign at once: a relying party that
    meets an unknown kid fetches the JWKS again (OpenID Connect Core 1.0 §10.1.1).
    """
    now = now or utcnow()
    publish_until = now + (publish_for if publish_for is not None else default_publish_window())
    for alg in SUPPORTED_ALGS:
        old = _find_active(alg)
        if old is not None:
            old.retired_at = now
            old.publish_until = publish_until
    # The retirements reach the database before the new keys: the partial unique index
    # allows one unretired key per algorithm at any moment.
    db.session.flush()
    try:
        new_kids = [_new_key(alg, now).kid for alg in SUPPORTED_ALGS]
        db.session.commit()
    except IntegrityError as exc:  # another process rotated (or created) at the same time
        db.session.rollback()
        raise KeyRotationConflict() from exc
    return new_kids


def prune_keys(now: datetime | None = None) -> int:
    """Delete retired keys whose publication window has ended; return how many."""
    now = now or utcnow()
    deleted = db.session.execute(
        sa.delete(SigningKey).where(
            SigningKey.retired_at.is_not(None), SigningKey.publish_until <= now
        )
    ).rowcount
    db.session.commit()
    return deleted


def _utc_text(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds") + "Z"


@click.command("rotate-keys")
@click.option(
    "--publish-for",
    type=click.IntRange(min=0),
    default=None,
    help="Seconds the retired keys stay in the JWKS "
    "(default: the longest token lifetime plus 60 s of leeway).",
)
def rotate_keys_command(publish_for: int | None) -> None:
    """Retire the active signing keys and sign with new ones from now on."""
    now = utcnow()
    window = timedelta(seconds=publish_for) if publish_for is not None else None
    new = rotate_keys(now=now, publish_for=window)
    published_until = {
        row.kid: _utc_text(row.publish_until)
        for row in _published(now)
        if not row.is_active and row.publish_until is not None
    }
    click.echo(json.dumps({"new": new, "published_until": published_until}))
