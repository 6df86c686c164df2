"""Signing keys: created on first use, published as a JWKS, taken through their life
cycle (next → active → retired → removed) by rotation, kept encrypted."""

from __future__ import annotations

import base64
import json
import os
from datetime import timedelta

import pytest
import sqlalchemy as sa
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError
from joserfc.jwk import KeySet, import_key
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.keys import reencrypt_personal_data
from portal.oidc import keys
from portal.oidc.key_models import SigningKey
from portal.oidc.keys import (
    NEXT_KEY_LEAD,
    SUPPORTED_ALGS,
    KeyRotationTooSoon,
    active_key,
    ensure_keys,
    jwks,
    prune_keys,
    public_key_set,
    rotate_due_keys,
    rotate_keys,
    rotate_keys_command,
)
from shared.crypto import PiiCipher
from shared.sessions import utcnow
from tests.portal.oidc_helpers import age_keys

# Members of a private RSA or EC JWK (RFC 7518 §6.2.2, §6.3.2).
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth"}
# The default window: the longest session (the 12-hour absolute timeout, which is also
# the refresh family's lifetime) plus 60 s of leeway.
DEFAULT_WINDOW = timedelta(seconds=43200 + 60)


def rows(alg: str | None = None, state: str | None = None) -> list[SigningKey]:
    db.session.expire_all()
    query = sa.select(SigningKey).order_by(SigningKey.id)
    if alg:
        query = query.where(SigningKey.alg == alg)
    return [row for row in db.session.execute(query).scalars() if state in (None, row.state)]


def kids(state: str) -> list[str]:
    """The kids in ``state``, one per algorithm in SUPPORTED_ALGS order."""
    return [rows(alg, state)[0].kid for alg in SUPPORTED_ALGS]


def sign(key, alg: str, **claims) -> str:
    return jwt.encode({"alg": alg, "kid": key.kid}, {"sub": "citizen-1", **claims}, key)


def test_first_use_creates_an_active_and_a_next_key_per_algorithm(app):
    rs, es = active_key("RS256"), active_key("ES256")

    assert (rs.key_type, rs.alg, rs.kid, rs.is_private) == ("RSA", "RS256", rs.thumbprint(), True)
    assert (es.key_type, es.alg, es["crv"], es.is_private) == ("EC", "ES256", "P-256", True)
    assert active_key("RS256").kid == rs.kid
    assert active_key("ES256").kid == es.kid
    ensure_keys()
    assert [(row.alg, row.state) for row in rows()] == [
        ("RS256", "active"),
        ("RS256", "next"),
        ("ES256", "active"),
        ("ES256", "next"),
    ]
    assert kids("active") == [rs.kid, es.kid]
    assert not set(kids("next")) & {rs.kid, es.kid}


def test_ensure_keys_is_idempotent(app):
    ensure_keys()
    ensure_keys()

    assert sorted((row.alg, row.state) for row in rows()) == sorted(
        (alg, state) for alg in SUPPORTED_ALGS for state in ("active", "next")
    )


def test_unsupported_algorithm_is_refused(app):
    with pytest.raises(ValueError, match="HS256"):
        active_key("HS256")


def test_jwks_publishes_public_keys_only(app):
    published = jwks()["keys"]

    assert [(k["kty"], k["alg"]) for k in published] == [
        ("RSA", "RS256"),
        ("RSA", "RS256"),
        ("EC", "ES256"),
        ("EC", "ES256"),
    ]
    for key in published:
        assert key["use"] == "sig"
        assert key["kid"] == import_key(key).thumbprint()  # RFC 7638
        assert not PRIVATE_MEMBERS & key.keys()
    # By algorithm: the active key, then the next one.
    assert [k["kid"] for k in published] == [
        kid for pair in zip(kids("active"), kids("next"), strict=True) for kid in pair
    ]
    assert kids("active") == [active_key(alg).kid for alg in SUPPORTED_ALGS]


def test_the_private_key_is_stored_encrypted(app):
    private = active_key("RS256").as_dict(private=True)
    stored = db.session.execute(
        sa.text("SELECT private_jwk_encrypted FROM signing_key WHERE kid = :kid"),
        {"kid": private["kid"]},
    ).scalar_one()

    assert stored.startswith("v2:t1:")
    assert '"d":' not in stored
    for member in ("d", "p", "q"):
        assert private[member] not in stored
    assert not PRIVATE_MEMBERS & rows("RS256")[0].public_jwk.keys()
    assert private["d"] not in repr(rows("RS256")[0])


@pytest.mark.parametrize("active", [True, False], ids=["active", "next"])
def test_the_database_allows_one_active_and_one_next_key_per_algorithm(app, active):
    ensure_keys()

    with pytest.raises(IntegrityError):
        keys._new_key("RS256", utcnow(), active=active)  # inserted at once: its row binds the key
        db.session.commit()
    db.session.rollback()


def test_a_key_created_concurrently_is_used_rather_than_a_second_one(app, monkeypatch):
    winner = active_key("RS256").kid
    real_find = keys._find
    calls = iter([None])  # the first look finds nothing: the other process has not committed

    monkeypatch.setattr(keys, "_find", lambda alg, state: next(calls, real_find(alg, state)))

    assert active_key("RS256").kid == winner
    assert [row.kid for row in rows("RS256", "active")] == [winner]


# --- the life cycle -------------------------------------------------------------------


@pytest.mark.parametrize("alg", SUPPORTED_ALGS)
def test_rotation_takes_each_key_one_step(app, alg):
    old = active_key(alg)
    old_token = sign(old, alg)
    age_keys(NEXT_KEY_LEAD.total_seconds())
    waiting = rows(alg, "next")[0].kid
    now = utcnow()

    rotation = rotate_keys(now=now)

    # The next key signs; a new next key is published; the old one is retired.
    new = active_key(alg)
    assert new.kid == waiting and new.kid in rotation.signing
    (fresh,) = rows(alg, "next")
    assert fresh.kid in rotation.next and fresh.created_at == now
    assert rotation.published_until == {
        row.kid: now + DEFAULT_WINDOW for row in rows(state="retired")
    }
    assert jwt.decode(sign(new, alg), public_key_set(now)).header["kid"] == new.kid
    published = [k["kid"] for k in jwks(now)["keys"] if k["alg"] == alg]
    assert published == [new.kid, fresh.kid, old.kid]
    # A token the old key signed still verifies throughout the window...
    during = now + DEFAULT_WINDOW - timedelta(seconds=1)
    assert jwt.decode(old_token, public_key_set(during)).claims["sub"] == "citizen-1"
    # ...and not after it, when the old key has left the JWKS.
    after = now + DEFAULT_WINDOW
    assert old.kid not in {k["kid"] for k in jwks(after)["keys"]}
    with pytest.raises(InvalidKeyIdError):
        jwt.decode(old_token, public_key_set(after))


def test_a_retired_key_stays_published_for_the_longest_session(app):
    """An ID token comes back as id_token_hint for as long as its session lasts: twelve
    hours, not the five minutes of the token's own lifetime (the review's finding: the
    key left after 360 s)."""
    old = active_key("RS256")
    age_keys(NEXT_KEY_LEAD.total_seconds())
    now = utcnow()
    rotate_keys(now=now)

    eleven_hours_later = now + timedelta(hours=11)
    assert old.kid in {k["kid"] for k in jwks(eleven_hours_later)["keys"]}
    token = sign(old, "RS256", exp=int(now.timestamp()))  # long expired by then
    assert jwt.decode(token, public_key_set(eleven_hours_later)).header["kid"] == old.kid


def test_the_window_follows_the_longest_session_or_token_lifetime(app, monkeypatch):
    age_keys(NEXT_KEY_LEAD.total_seconds())
    olds = set(kids("active"))
    monkeypatch.setitem(app.config, "SESSION_ABSOLUTE_TIMEOUT", 3600)
    monkeypatch.setitem(app.config, "REFRESH_TOKEN_LIFETIME", 7200)
    monkeypatch.setitem(app.config, "ID_TOKEN_LIFETIME", 900)
    now = utcnow()

    rotate_keys(now=now)

    for row in rows(state="retired"):
        assert row.kid in olds
        assert (row.retired_at, row.publish_until) == (now, now + timedelta(seconds=7260))


def test_the_next_key_is_in_every_cached_jwks_before_it_signs(app, client):
    """A relying party that fetched the JWKS before the rotation already holds the key
    that signs after it: it never meets an unknown kid."""
    cached = {k["kid"] for k in client.get("/.well-known/jwks.json").get_json()["keys"]}
    max_age = client.get("/.well-known/jwks.json").headers["Cache-Control"]
    assert max_age == "public, max-age=300"
    age_keys(NEXT_KEY_LEAD.total_seconds())

    rotation = rotate_keys()

    assert set(rotation.signing) <= cached
    for alg in SUPPORTED_ALGS:
        assert active_key(alg).kid in cached


def test_rotation_waits_until_the_next_key_has_been_published_long_enough(app):
    ensure_keys()
    before = [(row.kid, row.state) for row in rows()]
    age_keys(NEXT_KEY_LEAD.total_seconds() - 10)

    with pytest.raises(KeyRotationTooSoon) as refused:
        rotate_keys()

    assert "Сменить ключи можно с" in refused.value.message
    assert [(row.kid, row.state) for row in rows()] == before  # nothing changed
    age_keys(10)
    assert rotate_keys().signing == [kid for kid, state in before if state == "next"]


def test_a_forced_rotation_signs_with_the_next_key_at_once(app):
    ensure_keys()
    waiting = kids("next")
    rotation = rotate_keys(force=True)
    assert rotation.signing == waiting == [active_key(alg).kid for alg in SUPPORTED_ALGS]


def test_a_database_without_next_keys_gets_them_before_any_rotation(app):
    """Keys made before the life cycle existed: the next keys appear with the first JWKS,
    and a rotation then waits for them to have been published."""
    ensure_keys()
    db.session.execute(sa.delete(SigningKey).where(SigningKey.activated_at.is_(None)))
    db.session.commit()
    assert len(jwks()["keys"]) == 4
    with pytest.raises(KeyRotationTooSoon):
        rotate_keys()


def test_rotation_with_an_explicit_window_and_repeated(app):
    now = utcnow()
    ensure_keys()
    age_keys(3600)
    first = kids("active")
    second = rotate_keys(now=now - timedelta(minutes=40), publish_for=timedelta(minutes=30))
    third = rotate_keys(now=now - timedelta(minutes=20), publish_for=timedelta(minutes=30))

    assert len(rows()) == 8
    assert kids("active") == third.signing
    published = [k["kid"] for k in jwks(now)["keys"]]
    # RS256 active, next, retired (the first retired is gone); then ES256 the same.
    assert published == [
        third.signing[0],
        third.next[0],
        second.signing[0],
        third.signing[1],
        third.next[1],
        second.signing[1],
    ]
    assert not set(first) & set(published)


def test_prune_deletes_keys_past_their_window_only(app):
    now = utcnow()
    ensure_keys()
    age_keys(3600)
    old = kids("active")
    rotate_keys(now=now - timedelta(minutes=10), publish_for=timedelta(minutes=15))

    assert prune_keys(now) == 0
    assert prune_keys(now + timedelta(minutes=5)) == 2
    assert not {row.kid for row in rows()} & set(old)
    assert len(rows()) == 4


def test_scheduled_rotation_follows_the_same_life_cycle(app, monkeypatch):
    monkeypatch.setitem(app.config, "SIGNING_KEY_ROTATION_INTERVAL", 86400)
    ensure_keys()
    assert rotate_due_keys() is None  # the keys are new
    age_keys(86400 + 1)
    waiting = kids("next")

    rotation = rotate_due_keys()

    assert rotation is not None and rotation.signing == waiting
    assert rotate_due_keys() is None  # the new active key signs for the next interval
    monkeypatch.setitem(app.config, "SIGNING_KEY_ROTATION_INTERVAL", 0)
    age_keys(10 * 86400)
    assert rotate_due_keys() is None  # 0: only by command


def test_scheduled_rotation_waits_for_a_young_next_key(app, monkeypatch):
    monkeypatch.setitem(app.config, "SIGNING_KEY_ROTATION_INTERVAL", 60)
    active_key("RS256")
    for row in rows(state="active"):
        row.activated_at -= timedelta(seconds=120)
    db.session.commit()
    assert rotate_due_keys() is None  # due, but the next keys were published just now
    assert [row.state for row in rows()].count("retired") == 0


def test_the_signing_keys_survive_reencryption_under_a_new_pii_key(app):
    before = {alg: active_key(alg).kid for alg in SUPPORTED_ALGS}
    token = sign(active_key("ES256"), "ES256")
    old_keys = dict(app.config["PII_KEYS"])
    new_key = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    app.extensions["pii"] = PiiCipher.from_config(
        {**old_keys, "t2": new_key}, "t2", app.config["BLIND_INDEX_KEY"]
    )
    try:
        assert reencrypt_personal_data() == 4  # the active and the next keys
        assert all(row.private_jwk_encrypted.startswith("v2:t2:") for row in rows())
        assert {alg: active_key(alg).kid for alg in SUPPORTED_ALGS} == before
        fresh = sign(active_key("RS256"), "RS256")
        assert jwt.decode(fresh, public_key_set()).header["kid"] == before["RS256"]
        assert jwt.decode(token, public_key_set()).header["kid"] == before["ES256"]
        age_keys(NEXT_KEY_LEAD.total_seconds())
        rotate_keys()  # the next keys decrypt under the new PII key as well
        assert sign(active_key("RS256"), "RS256")
    finally:
        app.extensions["pii"] = PiiCipher.from_config(old_keys, "t1", app.config["BLIND_INDEX_KEY"])


def test_public_key_set_holds_the_keys_that_may_have_signed_and_no_private_key(app):
    key_set = public_key_set()

    assert isinstance(key_set, KeySet)
    assert [key.is_private for key in key_set] == [False, False]
    assert sorted(key.kid for key in key_set) == sorted(kids("active"))


def test_rotate_keys_command(app):
    ensure_keys()
    runner = app.test_cli_runner()

    refused = runner.invoke(rotate_keys_command, [])
    assert refused.exit_code == 1 and "Сменить ключи можно с" in refused.output
    age_keys(NEXT_KEY_LEAD.total_seconds())
    olds, waiting = kids("active"), kids("next")

    result = runner.invoke(rotate_keys_command, ["--publish-for", "120"])

    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["new"] == waiting == [active_key(alg).kid for alg in SUPPORTED_ALGS]
    assert report["next"] == kids("next")
    assert set(report["published_until"]) == set(olds)
    retired = rows(state="retired")[0]
    assert report["published_until"][retired.kid] == (
        retired.publish_until.isoformat(timespec="seconds") + "Z"
    )
    assert retired.publish_until - retired.retired_at == timedelta(seconds=120)
    forced = runner.invoke(rotate_keys_command, ["--force"])
    assert forced.exit_code == 0 and json.loads(forced.output)["new"] == report["next"]
