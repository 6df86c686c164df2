"""Signing keys: created on first use, published as a JWKS, rotated, kept encrypted."""

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
    SUPPORTED_ALGS,
    active_key,
    ensure_keys,
    jwks,
    prune_keys,
    public_key_set,
    rotate_keys,
    rotate_keys_command,
)
from shared.crypto import PiiCipher
from shared.sessions import utcnow

# Members of a private RSA or EC JWK (RFC 7518 §6.2.2, §6.3.2).
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth"}
# The default window: the longest token lifetime (300 s) plus 60 s of leeway.
DEFAULT_WINDOW = timedelta(seconds=360)


def rows(alg: str | None = None) -> list[SigningKey]:
    query = sa.select(SigningKey).order_by(SigningKey.id)
    if alg:
        query = query.where(SigningKey.alg == alg)
    return list(db.session.execute(query).scalars())


def sign(key, alg: str, **claims) -> str:
    return jwt.encode({"alg": alg, "kid": key.kid}, {"sub": "citizen-1", **claims}, key)


def test_first_use_creates_one_key_per_algorithm(app):
    rs, es = active_key("RS256"), active_key("ES256")

    assert (rs.key_type, rs.alg, rs.kid, rs.is_private) == ("RSA", "RS256", rs.thumbprint(), True)
    assert (es.key_type, es.alg, es["crv"], es.is_private) == ("EC", "ES256", "P-256", True)
    assert active_key("RS256").kid == rs.kid
    assert active_key("ES256").kid == es.kid
    ensure_keys()
    assert [(row.alg, row.kid, row.retired_at) for row in rows()] == [
        ("RS256", rs.kid, None),
        ("ES256", es.kid, None),
    ]


def test_ensure_keys_is_idempotent(app):
    ensure_keys()
    ensure_keys()

    assert sorted(row.alg for row in rows()) == sorted(SUPPORTED_ALGS)


def test_unsupported_algorithm_is_refused(app):
    with pytest.raises(ValueError, match="HS256"):
        active_key("HS256")


def test_jwks_publishes_public_keys_only(app):
    published = jwks()["keys"]

    assert [(k["kty"], k["alg"]) for k in published] == [("RSA", "RS256"), ("EC", "ES256")]
    for key in published:
        assert key["use"] == "sig"
        assert key["kid"] == import_key(key).thumbprint()  # RFC 7638
        assert not PRIVATE_MEMBERS & key.keys()
    assert [k["kid"] for k in published] == [active_key(alg).kid for alg in SUPPORTED_ALGS]


def test_the_private_key_is_stored_encrypted(app):
    private = active_key("RS256").as_dict(private=True)
    (stored,) = db.session.execute(
        sa.text("SELECT private_jwk_encrypted FROM signing_key WHERE alg = 'RS256'")
    ).one()

    assert stored.startswith("v2:t1:")
    assert '"d":' not in stored
    for member in ("d", "p", "q"):
        assert private[member] not in stored
    assert not PRIVATE_MEMBERS & rows("RS256")[0].public_jwk.keys()
    assert private["d"] not in repr(rows("RS256")[0])


def test_the_database_allows_one_active_key_per_algorithm(app):
    ensure_keys()

    with pytest.raises(IntegrityError):
        keys._new_key("RS256", utcnow())  # inserted at once: its row binds the private key
        db.session.commit()
    db.session.rollback()


def test_a_key_created_concurrently_is_used_rather_than_a_second_one(app, monkeypatch):
    winner = active_key("RS256").kid
    real_find_active = keys._find_active
    calls = iter([None])  # the first look finds nothing: the other process has not committed

    monkeypatch.setattr(keys, "_find_active", lambda alg: next(calls, real_find_active(alg)))

    assert active_key("RS256").kid == winner
    assert [row.kid for row in rows("RS256")] == [winner]


@pytest.mark.parametrize("alg", SUPPORTED_ALGS)
def test_rotation_signs_with_a_new_key_and_publishes_the_old_one_for_a_while(app, alg):
    old = active_key(alg)
    old_token = sign(old, alg)
    now = utcnow()

    new_kids = rotate_keys(now=now)

    new = active_key(alg)
    assert new.kid in new_kids and new.kid != old.kid
    new_token = sign(new, alg)
    assert jwt.decode(new_token, public_key_set(now)).header["kid"] == new.kid
    # The old key is still published, after the new one of its algorithm.
    published = [k["kid"] for k in jwks(now)["keys"] if k["alg"] == alg]
    assert published == [new.kid, old.kid]
    # A token the old key signed before the rotation still verifies in the window...
    during = now + DEFAULT_WINDOW - timedelta(seconds=1)
    assert jwt.decode(old_token, public_key_set(during)).claims["sub"] == "citizen-1"
    # ...and not after it, when the old key has left the JWKS.
    after = now + DEFAULT_WINDOW
    assert old.kid not in {k["kid"] for k in jwks(after)["keys"]}
    with pytest.raises(InvalidKeyIdError):
        jwt.decode(old_token, public_key_set(after))
    assert jwt.decode(new_token, public_key_set(after)).header["kid"] == new.kid


def test_rotation_retires_the_old_keys_for_the_longest_token_lifetime(app, monkeypatch):
    olds = {alg: active_key(alg).kid for alg in SUPPORTED_ALGS}
    now = utcnow()
    monkeypatch.setitem(app.config, "ID_TOKEN_LIFETIME", 900)
    monkeypatch.setitem(app.config, "ACCESS_TOKEN_LIFETIME", 600)

    rotate_keys(now=now)

    for row in rows():
        if row.kid in olds.values():
            assert (row.retired_at, row.publish_until) == (now, now + timedelta(seconds=960))
        else:
            assert (row.retired_at, row.publish_until) == (None, None)


def test_rotation_with_an_explicit_window_and_repeated(app):
    now = utcnow()
    first = rotate_keys(now=now)  # no key yet: nothing to retire
    second = rotate_keys(now=now, publish_for=timedelta(minutes=30))
    third = rotate_keys(now=now + timedelta(minutes=10), publish_for=timedelta(minutes=30))

    assert len(rows()) == 6
    assert [row.kid for row in rows() if row.retired_at is None] == third
    published = [k["kid"] for k in jwks(now + timedelta(minutes=35))["keys"]]
    assert published == [third[0], second[0], third[1], second[1]]
    assert not set(first) & set(published)


def test_prune_deletes_keys_past_their_window_only(app):
    now = utcnow()
    old = rotate_keys(now=now)
    rotate_keys(now=now, publish_for=timedelta(seconds=10))

    assert prune_keys(now + timedelta(seconds=5)) == 0
    assert prune_keys(now + timedelta(seconds=10)) == 2
    assert not {row.kid for row in rows()} & set(old)
    assert len(rows()) == 2


def test_the_signing_keys_survive_reencryption_under_a_new_pii_key(app):
    before = {alg: active_key(alg).kid for alg in SUPPORTED_ALGS}
    token = sign(active_key("ES256"), "ES256")
    old_keys = dict(app.config["PII_KEYS"])
    new_key = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    app.extensions["pii"] = PiiCipher.from_config(
        {**old_keys, "t2": new_key}, "t2", app.config["BLIND_INDEX_KEY"]
    )
    try:
        assert reencrypt_personal_data() == 2
        assert all(row.private_jwk_encrypted.startswith("v2:t2:") for row in rows())
        assert {alg: active_key(alg).kid for alg in SUPPORTED_ALGS} == before
        fresh = sign(active_key("RS256"), "RS256")
        assert jwt.decode(fresh, public_key_set()).header["kid"] == before["RS256"]
        assert jwt.decode(token, public_key_set()).header["kid"] == before["ES256"]
    finally:
        app.extensions["pii"] = PiiCipher.from_config(old_keys, "t1", app.config["BLIND_INDEX_KEY"])


def test_public_key_set_holds_no_private_key(app):
    key_set = public_key_set()

    assert isinstance(key_set, KeySet)
    assert [key.is_private for key in key_set] == [False, False]


def test_rotate_keys_command(app):
    olds = {alg: active_key(alg).kid for alg in SUPPORTED_ALGS}

    result = app.test_cli_runner().invoke(rotate_keys_command, ["--publish-for", "120"])

    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["new"] == [active_key(alg).kid for alg in SUPPORTED_ALGS]
    assert set(report["published_until"]) == set(olds.values())
    retired = rows()[0]
    assert report["published_until"][retired.kid] == (
        retired.publish_until.isoformat(timespec="seconds") + "Z"
    )
    assert retired.publish_until - retired.retired_at == timedelta(seconds=120)
