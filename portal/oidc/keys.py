"""The portal's signing keys: their life cycle, rotation, and the JWKS.

Each algorithm's keys go through four states (``SigningKey``):

    next (published, signs nothing) → active (signs) → retired (published, verifies)
    → removed (out of the JWKS, deleted)

- A key is *published before it signs*: the next key is in the JWKS at least
  ``NEXT_KEY_LEAD`` (the JWKS's HTTP cache lifetime plus clock leeway) before a rotation
  makes it active, so a relying party's cached key set already holds it when the first
  token it signed arrives (OpenID Connect Core 1.0 §10.1.1; RFC 7517 §5).
- A retired key stays published *as long as a token it signed can still be presented*:
  an ID token comes back as ``id_token_hint`` (RP-initiated logout accepts expired ones)
  for as long as the session it was issued in can last, so the window is the longest of
  the session's absolute timeout, the refresh family's lifetime and the tokens'
  lifetimes, plus clock leeway (``default_publish_window``). Then it is removed:
  ``prune_keys`` deletes it.
- ``rotate_keys`` takes every algorithm one step: the active key retires, the next key
  becomes active, a new next key is created. It is refused while the next key is younger
  than ``NEXT_KEY_LEAD``, unless forced (a compromised key: relying parties fetch the
  JWKS again on an unknown ``kid``). The ``rotate-keys`` command and the scheduled
  rotation (``rotate_due_keys``, every ``SIGNING_KEY_ROTATION_INTERVAL`` seconds, run by
  the OpenID Provider's periodic sweep) both go through it.

Keys are created on first use (an active and a next key per algorithm), so the app
factory does no database work. kids are RFC 7638 thumbprints. joserfc does not add the
``kid`` header by itself when given a single key: signers pass ``{"alg": alg, "kid":
key.kid}``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
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
from shared.cache import TimedCache
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

# Verifiers accept tokens this long past "exp" (and caches this long past max-age) for
# clock skew.
CLOCK_LEEWAY_SECONDS = 60
DEFAULT_TOKEN_LIFETIME = 300
# How long relying parties may cache the JWKS (its Cache-Control max-age).
JWKS_MAX_AGE = 300
# A next key is published at least this long before it signs.
NEXT_KEY_LEAD = timedelta(seconds=JWKS_MAX_AGE + CLOCK_LEEWAY_SECONDS)

_ACTIVE = sa.and_(SigningKey.activated_at.is_not(None), SigningKey.retired_at.is_(None))
_NEXT = SigningKey.activated_at.is_(None)


class KeyRotationConflict(DomainError):
    status = 409
    code = "conflict"
    default_message = _l("The signing keys were changed at the same time; try again.")


class KeyRotationTooSoon(DomainError):
    status = 409
    code = "conflict"
    default_message = _l(
        "The next signing keys have been published only since %(since)s: relying parties "
        "may not have them yet. Rotate from %(ready)s (or force it after a compromise)."
    )


def _check_alg(alg: str) -> None:
    if alg not in SUPPORTED_ALGS:
        raise ValueError(f"unsupported signing algorithm {alg!r}")


def _find(alg: str, state) -> SigningKey | None:
    return db.session.execute(
        sa.select(SigningKey).where(SigningKey.alg == alg, state)
    ).scalar_one_or_none()


def _find_active(alg: str) -> SigningKey | None:
    return _find(alg, _ACTIVE)


def _new_key(alg: str, now: datetime, *, active: bool = False) -> SigningKey:
    """A new key pair, inserted (an ``IntegrityError`` if another key of ``alg`` in the
    same state appeared meanwhile) with its private half encrypted, bound to the new row."""
    key = _GENERATORS[alg]({"alg": alg, "use": "sig"})
    key.ensure_kid()  # RFC 7638 thumbprint
    row = SigningKey(
        kid=key.kid,
        alg=alg,
        public_jwk=key.as_dict(private=False),
        created_at=now,
        activated_at=now if active else None,
    )
    db.session.add(row)
    seal(row, private_jwk_encrypted=json.dumps(key.as_dict(private=True)))
    return row


def _ensure_row(alg: str, state, *, active: bool) -> SigningKey:
    """The key of ``alg`` in ``state`` (active or next), created and committed if there
    is none yet (the first use; or a database from before next keys existed)."""
    row = _find(alg, state)
    if row is not None:
        return row
    forget_keys()
    try:
        row = _new_key(alg, utcnow(), active=active)
        db.session.commit()
    except IntegrityError:
        # Another process created the key first (a partial unique index refused ours):
        # use theirs.
        db.session.rollback()
        winner = _find(alg, state)
        if winner is None:
            raise
        return winner
    return row


def _active_row(alg: str) -> SigningKey:
    """The active key of ``alg``; on first use the active and the next key are created."""
    row = _ensure_row(alg, _ACTIVE, active=True)
    _ensure_row(alg, _NEXT, active=False)
    return row


# Keys imported by this process, by kid. A kid is the RFC 7638 thumbprint of the key
# itself, so one kid always names the same key material: each process decrypts and
# imports a key once (importing an RSA private key has ``cryptography`` validate it, tens
# of milliseconds), and a rotation shows as a new kid in the one small query that finds
# the active key. A few entries at most: keys rotate every few months.
_IMPORTED_PRIVATE: dict[str, Key] = {}
_IMPORTED_PUBLIC: dict[tuple[str, ...], KeySet] = {}
_CACHE_LIMIT = 16
# Which key is active, and the published key set, are kept OIDC_CACHE_SECONDS: another
# process's rotation is seen within that time. Harmless: the next key was published long
# before it signs, and a retired key stays published for as long as its tokens live.
_ACTIVE_KIDS: TimedCache[str] = TimedCache()
_PUBLISHED: TimedCache[KeySet] = TimedCache()


def _cache_seconds() -> float:
    return float(current_app.config["OIDC_CACHE_SECONDS"])


def _database() -> str:
    """Entries are per database: a process may serve more than one portal (tests do)."""
    return current_app.config["SQLALCHEMY_DATABASE_URI"]


def forget_keys() -> None:
    """The keys changed here: read them again at their next use."""
    _ACTIVE_KIDS.clear()
    _PUBLISHED.clear()


def _remember(cache: dict, name, value):
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()  # rotations only: starting over costs one import per key
    cache[name] = value
    return value


def _private_key(row: SigningKey) -> Key:
    cached = _IMPORTED_PRIVATE.get(row.kid)
    if cached is not None:
        return cached
    key = jwk.import_key(json.loads(unseal(row, "private_jwk_encrypted")))
    # A key that does not match its kid would sign tokens no one can verify.
    if key.thumbprint() != row.kid:
        raise RuntimeError(f"signing key {row.kid} does not match its thumbprint")
    return _remember(_IMPORTED_PRIVATE, row.kid, key)


def active_key(alg: str) -> Key:
    """The private key that signs with ``alg`` now (its ``kid``, ``alg`` and ``use`` set).

    One query finds the active key's kid; a key this process imported before is used as
    it is. On first use for ``alg`` the keys are created and the session committed.
    """
    _check_alg(alg)
    kid = _ACTIVE_KIDS.get(
        (_database(), alg),
        _cache_seconds(),
        lambda: db.session.execute(
            sa.select(SigningKey.kid).where(SigningKey.alg == alg, _ACTIVE)
        ).scalar_one_or_none(),
    )
    if kid is not None and kid in _IMPORTED_PRIVATE:
        return _IMPORTED_PRIVATE[kid]
    return _private_key(_active_row(alg))


def ensure_keys() -> None:
    """Create the active and the next key of every supported algorithm that lacks one
    (idempotent)."""
    for alg in SUPPORTED_ALGS:
        _active_row(alg)


_ORDER = {"active": 0, "next": 1, "retired": 2}


def _published(now: datetime) -> list[SigningKey]:
    """Next, active and retired keys still in their publication window: RS256 first (the
    default algorithm of ID tokens, OpenID Connect Core 1.0 §3.1.3.7), then by algorithm
    the active key, the next one and the retired ones, newest first."""

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
    states = {(row.alg, row.state) for row in rows}
    if not all({(alg, "active"), (alg, "next")} <= states for alg in SUPPORTED_ALGS):
        # A JWKS fetched before the first token is signed must not be empty, and must
        # already hold the next keys: relying parties cache it.
        ensure_keys()
        rows = query()
    return sorted(rows, key=lambda row: (SUPPORTED_ALGS.index(row.alg), _ORDER[row.state]))


def jwks(now: datetime | None = None) -> dict[str, list[dict]]:
    """The JSON Web Key Set to publish (RFC 7517 §5): public members only."""
    return {"keys": [dict(row.public_jwk) for row in _published(now or utcnow())]}


def public_key_set(now: datetime | None = None) -> KeySet:
    """The published keys that may have signed a token (active and retired ones, not the
    next keys) as a joserfc ``KeySet``, to verify tokens the portal issued.

    ``jwt.decode`` picks the key by the token's ``kid`` and refuses one whose ``alg``
    differs from the token's.
    """
    if now is not None:
        return _verifying_set(now)
    return _PUBLISHED.get(_database(), _cache_seconds(), lambda: _verifying_set(utcnow()))


def _verifying_set(now: datetime) -> KeySet:
    rows = [row for row in _published(now) if row.state != "next"]
    kids = tuple(row.kid for row in rows)
    cached = _IMPORTED_PUBLIC.get(kids)
    if cached is not None:
        return cached
    key_set = KeySet.import_key_set({"keys": [dict(row.public_jwk) for row in rows]})
    return _remember(_IMPORTED_PUBLIC, kids, key_set)


def default_publish_window() -> timedelta:
    """How long a retired key stays published: as long as a token it signed can be
    presented. An ID token comes back as ``id_token_hint`` for the whole session it was
    issued in (the absolute timeout; a refresh family lives no longer than
    ``REFRESH_TOKEN_LIFETIME``), so the longest of those and of the tokens' own
    lifetimes, plus the clock-skew leeway verifiers allow."""
    config = current_app.config
    longest = max(
        int(config.get(name, DEFAULT_TOKEN_LIFETIME))
        for name in (
            "ID_TOKEN_LIFETIME",
            "ACCESS_TOKEN_LIFETIME",
            "REFRESH_TOKEN_LIFETIME",
            "SESSION_ABSOLUTE_TIMEOUT",
        )
    )
    return timedelta(seconds=longest + CLOCK_LEEWAY_SECONDS)


@dataclass(frozen=True)
class Rotation:
    signing: list[str]  # the kids that sign from now on (the former next keys)
    next: list[str]  # the new next keys, published from now on
    published_until: dict[str, datetime]  # the retired kids, and until when


def rotate_keys(
    now: datetime | None = None, publish_for: timedelta | None = None, *, force: bool = False
) -> Rotation:
    """Take every algorithm's keys one step through their life cycle (module docstring):
    the active key retires and stays published until ``now + publish_for`` (by default
    ``default_publish_window()``), the next key signs, a new next key is published.

    Raises ``KeyRotationTooSoon`` while a next key has been published for less than
    ``NEXT_KEY_LEAD`` (unless ``force``), and ``KeyRotationConflict`` when another
    process rotated at the same moment; either way nothing changes.
    """
    now = now or utcnow()
    publish_until = now + (publish_for if publish_for is not None else default_publish_window())
    ensure_keys()
    actives = {alg: _find(alg, _ACTIVE) for alg in SUPPORTED_ALGS}
    nexts = {alg: _find(alg, _NEXT) for alg in SUPPORTED_ALGS}
    youngest = max(row.created_at for row in nexts.values())
    if not force and youngest > now - NEXT_KEY_LEAD:
        raise KeyRotationTooSoon(
            since=_utc_text(youngest), ready=_utc_text(youngest + NEXT_KEY_LEAD)
        )
    try:
        for alg in SUPPORTED_ALGS:
            # Each step names the state it expects: a rotation that raced ours finds the
            # row changed (PostgreSQL waits for the other transaction, then re-checks).
            retired = db.session.execute(
                sa.update(SigningKey)
                .where(SigningKey.id == actives[alg].id, _ACTIVE)
                .values(retired_at=now, publish_until=publish_until)
            ).rowcount
            promoted = db.session.execute(
                sa.update(SigningKey)
                .where(SigningKey.id == nexts[alg].id, _NEXT)
                .values(activated_at=now)
            ).rowcount
            if (retired, promoted) != (1, 1):
                raise KeyRotationConflict()
        # Inserted once the old next keys are active: one next key per algorithm.
        new_nexts = [_new_key(alg, now) for alg in SUPPORTED_ALGS]
        db.session.commit()
    except (IntegrityError, KeyRotationConflict) as exc:
        db.session.rollback()
        raise KeyRotationConflict() from exc
    forget_keys()
    db.session.expire_all()
    return Rotation(
        signing=[nexts[alg].kid for alg in SUPPORTED_ALGS],
        next=[row.kid for row in new_nexts],
        published_until={actives[alg].kid: publish_until for alg in SUPPORTED_ALGS},
    )


def rotate_due_keys(now: datetime | None = None) -> Rotation | None:
    """The scheduled rotation: rotate when an active key has signed for
    ``SIGNING_KEY_ROTATION_INTERVAL`` seconds (0: never); None when nothing was due or
    the next keys are not ready yet."""
    interval = int(current_app.config.get("SIGNING_KEY_ROTATION_INTERVAL") or 0)
    if interval <= 0:
        return None
    now = now or utcnow()
    ensure_keys()
    oldest = min(_find(alg, _ACTIVE).activated_at for alg in SUPPORTED_ALGS)
    if oldest > now - timedelta(seconds=interval):
        return None
    try:
        return rotate_keys(now)
    except (KeyRotationTooSoon, KeyRotationConflict) as exc:
        current_app.logger.info("scheduled key rotation postponed: %s", exc.message)
        return None


def prune_keys(now: datetime | None = None) -> int:
    """Delete retired keys whose publication window has ended; return how many."""
    now = now or utcnow()
    deleted = db.session.execute(
        sa.delete(SigningKey).where(
            SigningKey.retired_at.is_not(None), SigningKey.publish_until <= now
        )
    ).rowcount
    db.session.commit()
    forget_keys()
    return deleted


def _utc_text(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds") + "Z"


@click.command("rotate-keys")
@click.option(
    "--publish-for",
    type=click.IntRange(min=0),
    default=None,
    help="Seconds the retired keys stay in the JWKS "
    "(default: the longest session or token lifetime plus 60 s of leeway).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Rotate even if the next keys were published too recently for every cache to "
    "hold them (after a key compromise).",
)
def rotate_keys_command(publish_for: int | None, force: bool) -> None:
    """Retire the signing keys, sign with the next ones, publish new next ones."""
    window = timedelta(seconds=publish_for) if publish_for is not None else None
    try:
        rotation = rotate_keys(publish_for=window, force=force)
    except DomainError as error:
        raise click.ClickException(str(error.message)) from error
    click.echo(
        json.dumps(
            {
                "new": rotation.signing,
                "next": rotation.next,
                "published_until": {
                    kid: _utc_text(until) for kid, until in rotation.published_until.items()
                },
            }
        )
    )
