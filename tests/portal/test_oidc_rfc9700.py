"""OAuth 2.0 Security Best Current Practice (RFC 9700) and the portal's own rules for a
provider of citizens' data: PKCE S256 only, exact redirect URIs, single-use short-lived
codes, rotated refresh tokens with reuse detection, audience-bound tokens, ``iss`` in
every authorization response, client authentication, account levels and consent."""

from __future__ import annotations

import base64
import secrets
from datetime import timedelta

import pytest
import sqlalchemy as sa
from joserfc import jwt

from portal.extensions import db
from portal.identity.models import web_session
from portal.oidc import claims as scope_claims
from portal.oidc import services as oidc
from portal.oidc.models import IssuedToken, OAuthClient, digest
from portal.oidc.tokens import issuer
from shared.sessions import utcnow
from shared.tokens import verify_access_token
from tests.helpers import forms_of, text_of
from tests.portal.factories import make_standard
from tests.portal.oidc_helpers import (
    REDIRECT,
    RP,
    Browser,
    age_code,
    authorization_params,
    bearer,
    code_record,
    fetch_jwks,
    pkce,
    register,
    simultaneously,
    tokens,
    verify,
)

PHONE = "+79161234567"


def error_of(response) -> str:
    return response.get_json()["error"]


def userinfo_status(browser, access_token: str) -> int:
    return browser.http.get("/oauth/userinfo", headers=bearer(access_token)).status_code


def introspect(browser, rp: RP, token: str):
    return rp.post(browser.http, "/oauth/introspect", {"token": token})


def refresh_records() -> list[IssuedToken]:
    query = sa.select(IssuedToken).where(IssuedToken.kind == "refresh").order_by(IssuedToken.id)
    return list(db.session.execute(query).scalars())


def percent_encode_all(value: str) -> str:
    """Form-urlencoding as the most careful clients do it: every character outside
    A-Z a-z 0-9 escaped, the unreserved - _ . ~ included."""
    return "".join(c if c.isalnum() else f"%{ord(c):02X}" for c in value)


# --- PKCE (RFC 9700 §2.1.1, §4.8) ----------------------------------------------------


def test_authorization_without_code_challenge_is_refused(browser, rp):
    query, _ = authorization_params(rp, code_challenge_method=None)
    query.pop("code_challenge")
    outcome = browser.follow(browser.open(query), rp.redirect_uri)
    assert outcome.params["error"] == "invalid_request"
    assert "code" not in outcome.params and outcome.pages == []


@pytest.mark.parametrize("method", ["plain", None, "S512"])
def test_code_challenge_method_other_than_s256_is_refused(browser, rp, method):
    verifier, _ = pkce()
    query, _ = authorization_params(rp, challenge=verifier, code_challenge_method=method)
    outcome = browser.follow(browser.open(query), rp.redirect_uri)
    assert outcome.params["error"] == "invalid_request", outcome.params
    assert "code" not in outcome.params


def test_token_request_without_code_verifier_is_refused(browser, rp):
    outcome, verifier = browser.authorize(rp)
    response = rp.exchange(browser.http, outcome.code, None)
    assert response.status_code == 400
    assert error_of(response) in ("invalid_request", "invalid_grant")
    # The refused attempt did not spend the code: its owner, with the verifier, may.
    assert rp.exchange(browser.http, outcome.code, verifier).status_code == 200


def test_token_request_with_wrong_code_verifier_is_refused(browser, rp):
    outcome, _ = browser.authorize(rp)
    other_verifier, _ = pkce()
    response = rp.exchange(browser.http, outcome.code, other_verifier)
    assert response.status_code == 400
    assert error_of(response) == "invalid_grant"


def test_code_verifier_of_the_plain_method_does_not_pass_for_s256(browser, rp):
    """A downgrade attempt: the challenge sent was the verifier itself."""
    verifier, _ = pkce()
    outcome, _ = browser.authorize(rp, challenge=verifier)
    response = rp.exchange(browser.http, outcome.code, verifier)
    assert response.status_code == 400 and error_of(response) == "invalid_grant"


# --- redirect URIs (RFC 9700 §2.1, §4.1) ---------------------------------------------


@pytest.mark.parametrize(
    "redirect_uri",
    [
        REDIRECT + "/",  # trailing slash
        REDIRECT.replace("rp.example.ru", "rp.example.ru:8443"),  # another port
        REDIRECT + "?next=https://evil.example",  # extra query
        REDIRECT.replace("rp.example.ru", "RP.example.ru"),  # host in another case
        REDIRECT.replace("callback", "Callback"),  # path in another case
        REDIRECT + "/sub",  # a subpath
        REDIRECT.replace("https://", "http://"),  # scheme downgrade
        REDIRECT.replace("rp.example.ru", "rp.example.ru.evil.example"),
        REDIRECT + "#fragment",
        "https://evil.example/callback",
    ],
)
def test_redirect_uri_must_match_exactly(browser, rp, redirect_uri):
    """Anything but the registered string: an error page, and nothing goes anywhere."""
    query, _ = authorization_params(rp, redirect_uri=redirect_uri)
    response = browser.open(query)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "code=" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "changed",
    [
        {"redirect_uri": REDIRECT + "/é"},
        {"redirect_uri": REDIRECT + "\x00"},
        {"response_type": "cöde"},
        {"response_type": "code\x01"},
        {"scope": "openid профиль"},
        {"state": "line\r\nbreak"},
        {"nonce": "ключ"},
        {"client_id": "diary\x7f"},
        {"prompt": "none", "login_hint": "Мария"},
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_non_ascii_or_control_characters_are_an_invalid_request_page(browser, rp, changed, method):
    """RFC 6749 Appendix A allows printable ASCII only. Such a request gets a 400 page
    (``invalid_request``, in the person's language), and nothing is redirected, not even
    to the registered redirect URI (issue 11: Authlib refused to describe the value, a 500)."""
    query, _ = authorization_params(rp, **changed)
    for lang, words in (
        ("ru", "В запросе есть недопустимые символы."),
        ("en", "The request contains characters that are not allowed."),
    ):
        browser.http.set_cookie("lang", lang)
        response = browser.open(query, method)
        assert response.status_code == 400
        assert "Location" not in response.headers
        page = text_of(response)
        assert "invalid_request" in page and words in page


def test_token_request_with_another_redirect_uri_is_refused(browser, rp):
    outcome, verifier = browser.authorize(rp)
    response = rp.exchange(browser.http, outcome.code, verifier, redirect_uri=REDIRECT + "/other")
    assert response.status_code == 400 and error_of(response) == "invalid_grant"


# --- codes ---------------------------------------------------------------------------


def test_codes_live_60_seconds(browser, rp):
    outcome, verifier = browser.authorize(rp)
    record = code_record(outcome.code)
    lifetime = record.expires_at - record.created_at
    assert abs(lifetime - timedelta(seconds=60)) < timedelta(seconds=1)
    age_code(outcome.code, 61)
    response = rp.exchange(browser.http, outcome.code, verifier)
    assert response.status_code == 400 and error_of(response) == "invalid_grant"


def test_codes_are_bound_to_their_client(browser, rp):
    other = register(name="Другой сервис")
    outcome, verifier = browser.authorize(rp)
    response = other.exchange(browser.http, outcome.code, verifier, redirect_uri=REDIRECT)
    assert response.status_code == 400 and error_of(response) == "invalid_grant"
    assert rp.exchange(browser.http, outcome.code, verifier).status_code == 200


def test_eight_simultaneous_redemptions_of_a_code_one_wins(app, portal_server, browser, rp):
    """Against a real server (PostgreSQL in CI's second pass): the code is spent by one
    atomic statement, so exactly one of eight requests at the same moment gets tokens."""
    outcome, verifier = browser.authorize(rp)
    data, headers = rp.authenticate(
        {
            "grant_type": "authorization_code",
            "code": outcome.code,
            "redirect_uri": rp.redirect_uri,
            "code_verifier": verifier,
        }
    )
    answers = simultaneously(8, portal_server + "/oauth/token", data, headers)
    assert sorted(status for status, _ in answers) == [200] + [400] * 7, answers
    assert all(body["error"] == "invalid_grant" for status, body in answers if status == 400)
    # The seven were replays: what the first use issued is revoked (RFC 6749 §4.1.2).
    [winner] = [body for status, body in answers if status == 200]
    assert userinfo_status(browser, winner["access_token"]) == 401
    assert rp.refresh(browser.http, winner["refresh_token"]).status_code == 400


# --- refresh tokens (RFC 9700 §2.2.2, §4.14) -----------------------------------------


def test_eight_simultaneous_uses_of_a_refresh_token_one_wins(app, portal_server, browser, rp):
    """Rotation by one atomic statement: one of eight simultaneous uses gets new tokens;
    the others are reuse, which revokes the family (RFC 9700 §4.14.2)."""
    first = tokens(browser, rp)
    data, headers = rp.authenticate(
        {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    )
    answers = simultaneously(8, portal_server + "/oauth/token", data, headers)
    assert sorted(status for status, _ in answers) == [200] + [400] * 7, answers
    assert all(body["error"] == "invalid_grant" for status, body in answers if status == 400)
    [winner] = [body for status, body in answers if status == 200]
    # Reuse detection still holds after the race: the seven revoked the whole family,
    # the winner's new tokens with it, and a later use of the old token changes nothing.
    assert rp.refresh(browser.http, winner["refresh_token"]).status_code == 400
    assert userinfo_status(browser, winner["access_token"]) == 401
    assert introspect(browser, rp, winner["refresh_token"]).get_json() == {"active": False}
    later = rp.refresh(browser.http, first["refresh_token"])
    assert later.status_code == 400 and error_of(later) == "invalid_grant"
    db.session.commit()
    assert [(r.used_at is not None, r.revoked_at is not None) for r in refresh_records()] == [
        (True, True),
        (False, True),
    ]


def test_reused_refresh_token_revokes_the_whole_family(browser, rp):
    first = tokens(browser, rp, scope="openid profile")
    rotated = rp.refresh(browser.http, first["refresh_token"])
    assert rotated.status_code == 200
    second = rotated.get_json()
    assert second["refresh_token"] != first["refresh_token"]
    assert userinfo_status(browser, second["access_token"]) == 200

    # Someone replays the rotated token: refused, and everything of the sign-in goes.
    replay = rp.refresh(browser.http, first["refresh_token"])
    assert replay.status_code == 400 and error_of(replay) == "invalid_grant"
    newest = rp.refresh(browser.http, second["refresh_token"])
    assert newest.status_code == 400 and error_of(newest) == "invalid_grant"
    assert userinfo_status(browser, second["access_token"]) == 401
    assert userinfo_status(browser, first["access_token"]) == 401
    for token in (second["refresh_token"], second["access_token"]):
        assert introspect(browser, rp, token).get_json() == {"active": False}


def test_refresh_tokens_have_an_absolute_lifetime(browser, rp):
    """Rotation does not extend the grant: the family ends 12 hours after the sign-in."""
    first = tokens(browser, rp)
    start = refresh_records()[0]
    lifetime = start.expires_at - start.issued_at
    assert abs(lifetime - timedelta(seconds=43200)) < timedelta(seconds=2)
    second = rp.refresh(browser.http, first["refresh_token"]).get_json()
    assert [r.expires_at for r in refresh_records()] == [start.expires_at] * 2
    for record in refresh_records():
        record.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    expired = rp.refresh(browser.http, second["refresh_token"])
    assert expired.status_code == 400 and error_of(expired) == "invalid_grant"


def test_refresh_token_dies_with_the_portal_session(browser, rp):
    """A grant lives no longer than the portal session it came from: after the idle
    timeout, even without a sign-out, the refresh token is refused and its family revoked."""
    first = tokens(browser, rp)
    assert rp.refresh(browser.http, first["refresh_token"]).status_code == 200
    second = tokens(browser, rp)
    db.session.execute(
        sa.update(web_session)
        .where(web_session.c.user_id.isnot(None))
        .values(last_seen_at=utcnow() - timedelta(minutes=31))
    )
    db.session.commit()
    refused = rp.refresh(browser.http, second["refresh_token"])
    assert refused.status_code == 400 and error_of(refused) == "invalid_grant"
    assert userinfo_status(browser, second["access_token"]) == 401


def test_refresh_token_dies_with_a_deleted_portal_session(browser, rp):
    """A session row gone without its end being announced (a sweep, an operator): the
    refresh is refused and the family revoked all the same."""
    body = tokens(browser, rp)
    db.session.execute(sa.delete(web_session))
    db.session.commit()
    refused = rp.refresh(browser.http, body["refresh_token"])
    assert refused.status_code == 400 and error_of(refused) == "invalid_grant"
    assert userinfo_status(browser, body["access_token"]) == 401
    db.session.commit()
    assert [r.revoked_at is not None for r in refresh_records()] == [True]


def test_a_refused_refresh_does_not_spend_the_token(browser, rp):
    """The token is spent by the statement that reads it, before the scope is checked: a
    refusal after that (a wider scope asked for) rolls the spending back, and the client
    keeps a working refresh token."""
    body = tokens(browser, rp, scope="openid profile")
    wider = rp.post(
        browser.http,
        "/oauth/token",
        {
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            "scope": "openid profile snils",
        },
    )
    assert wider.status_code == 400 and error_of(wider) == "invalid_scope"
    db.session.commit()
    assert [(r.used_at, r.revoked_at) for r in refresh_records()] == [(None, None)]
    again = rp.refresh(browser.http, body["refresh_token"])
    assert again.status_code == 200 and again.get_json()["scope"] == "openid profile"


def test_other_sign_ins_survive_a_family_revocation(browser, rp):
    one = tokens(browser, rp)
    two = tokens(browser, rp)
    rp.refresh(browser.http, one["refresh_token"])
    rp.refresh(browser.http, one["refresh_token"])  # reuse: family of "one" revoked
    assert userinfo_status(browser, two["access_token"]) == 200
    assert rp.refresh(browser.http, two["refresh_token"]).status_code == 200


# --- audience (RFC 9700 §2.3, §4.10) -------------------------------------------------


def test_token_for_another_audience_is_refused(browser, rp):
    other = register(name="Другой сервис")
    body = tokens(browser, rp)
    claims = verify(body["access_token"], fetch_jwks(browser.http))[1]
    assert claims["aud"] == rp.client_id and claims["client_id"] == rp.client_id
    header = jwt.decode(body["access_token"], fetch_jwks(browser.http)).header
    assert header["typ"] == "at+jwt"

    assert claims["exp"] - claims["iat"] == body["expires_in"] == 300  # five minutes
    seen_by_other = introspect(browser, other, body["access_token"])
    assert seen_by_other.status_code == 401 or seen_by_other.get_json() == {"active": False}
    seen_by_owner = introspect(browser, rp, body["access_token"]).get_json()
    assert seen_by_owner["active"] is True and seen_by_owner["aud"] == rp.client_id
    # Nor may the other client revoke it (RFC 7009 §2.1: the request is refused).
    refused = other.post(browser.http, "/oauth/revoke", {"token": body["access_token"]})
    assert refused.status_code == 400 and error_of(refused) == "invalid_grant"
    assert userinfo_status(browser, body["access_token"]) == 200


# --- iss (RFC 9207, RFC 9700 §4.4.2) -------------------------------------------------


def test_iss_in_every_authorization_response(app, browser, rp, citizen):
    responses = []
    outcome, _ = browser.authorize(rp)  # success
    responses.append(outcome.params)
    outcome, _ = browser.authorize(rp, prompt="consent", consent="deny")
    responses.append(outcome.params)
    assert outcome.params["error"] == "access_denied"
    for extra in (
        {"code_challenge_method": "plain"},
        {"response_type": "token"},
        {"request_uri": "https://rp.example.ru/r"},
        {"prompt": "none", "acr_values": scope_claims.acr_for("standard")},
    ):
        responses.append(
            browser.follow(browser.open(authorization_params(rp, **extra)[0]), REDIRECT).params
        )
    stranger = Browser(app)
    query, _ = authorization_params(rp, prompt="none")
    responses.append(stranger.follow(stranger.open(query), REDIRECT).params)
    assert [r.get("error") for r in responses] == [
        None,
        "access_denied",
        "invalid_request",
        "unsupported_response_type",
        "request_uri_not_supported",
        "unmet_authentication_requirements",
        "login_required",
    ]
    assert all(r["iss"] == issuer() for r in responses)


# --- client authentication (RFC 6749 §2.3, RFC 9700 §2.5) ----------------------------


def test_client_secret_basic_credentials_are_url_decoded(browser):
    """RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic; ``- _ . ~`` may
    arrive escaped (``demo%2Drp%5F1.x%7E``) or not, and both work."""
    created = oidc.create_client(name="Demo RP", redirect_uris=[REDIRECT], client_id="demo-rp_1.x~")
    secret = secrets.token_urlsafe(24) + "-_.~"
    created.client.client_secret_hash = digest(secret)
    db.session.commit()
    rp = RP("demo-rp_1.x~", secret, "client_secret_basic")
    encodings = [
        ("demo%2Drp%5F1.x%7E", percent_encode_all(secret)),
        (percent_encode_all(rp.client_id), percent_encode_all(secret)),
        (rp.client_id, secret),
    ]
    for client_id, client_secret in encodings:
        outcome, verifier = browser.authorize(rp)
        credentials = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        response = browser.http.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": outcome.code,
                "redirect_uri": REDIRECT,
                "code_verifier": verifier,
            },
            headers={"Authorization": "Basic " + credentials},
        )
        assert response.status_code == 200, (client_id, response.get_json())


def test_confidential_client_with_a_wrong_secret_is_refused(browser, rp):
    outcome, verifier = browser.authorize(rp)
    for wrong in (
        RP(rp.client_id, rp.secret + "x", "client_secret_basic"),
        RP(rp.client_id, rp.secret, "client_secret_post"),  # not the registered method
        RP(rp.client_id, None, "none"),  # no authentication at all
    ):
        response = wrong.exchange(browser.http, outcome.code, verifier)
        assert response.status_code == 401, wrong
        assert error_of(response) == "invalid_client"
    assert rp.exchange(browser.http, outcome.code, verifier).status_code == 200


def test_public_client_must_use_pkce(browser):
    public = register(auth_method="none")
    assert public.secret is None
    query, _ = authorization_params(public, code_challenge_method=None)
    query.pop("code_challenge")
    refused = browser.follow(browser.open(query), public.redirect_uri)
    assert refused.params["error"] == "invalid_request"
    outcome, verifier = browser.authorize(public)
    without = public.exchange(browser.http, outcome.code, None)
    assert without.status_code == 400
    response = public.exchange(browser.http, outcome.code, verifier)
    assert response.status_code == 200
    assert verify(response.get_json()["id_token"], fetch_jwks(browser.http))[1]["aud"] == [
        public.client_id
    ]


def test_introspection_is_for_confidential_clients_only(browser):
    public = register(auth_method="none")
    body = tokens(browser, public)
    response = introspect(browser, public, body["access_token"])
    assert response.status_code == 401 and error_of(response) == "invalid_client"
    config = browser.http.get("/.well-known/openid-configuration").get_json()
    assert "none" not in config["introspection_endpoint_auth_methods_supported"]


def test_disabled_client_is_refused(browser, rp):
    body = tokens(browser, rp)
    outcome, verifier = browser.authorize(rp)
    oidc.disable_client(rp.client_id)
    query, _ = authorization_params(rp)
    page = browser.open(query)
    assert page.status_code == 400 and "Location" not in page.headers
    response = rp.exchange(browser.http, outcome.code, verifier)
    assert response.status_code == 401 and error_of(response) == "invalid_client"
    assert rp.refresh(browser.http, body["refresh_token"]).status_code == 401
    assert userinfo_status(browser, body["access_token"]) == 401


def test_es256_client_gets_es256_id_tokens(browser):
    rp = register(id_token_alg="ES256")
    body = tokens(browser, rp, nonce="n1")
    published = browser.http.get("/.well-known/jwks.json").get_json()
    header, claims = verify(body["id_token"], fetch_jwks(browser.http), algorithms=["ES256"])
    assert header["alg"] == "ES256"
    key = next(k for k in published["keys"] if k["kid"] == header["kid"])
    assert key["kty"] == "EC" and key["crv"] == "P-256"
    assert claims["aud"] == [rp.client_id] and claims["nonce"] == "n1"


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_access_tokens_are_signed_with_the_clients_algorithm(browser, alg):
    """A client's access tokens are signed as its ID tokens are (RS256 by default); a
    resource server verifies them with the published keys and the diary's own check."""
    rp = register(id_token_alg=alg)
    body = tokens(browser, rp)
    refreshed = rp.refresh(browser.http, body["refresh_token"]).get_json()
    for token in (body["access_token"], refreshed["access_token"]):
        header, claims = verify(token, fetch_jwks(browser.http), algorithms=[alg])
        assert header["alg"] == alg and header["typ"] == "at+jwt"
        checked = verify_access_token(
            token,
            fetch_jwks(browser.http),
            issuer=issuer(),
            audience=rp.client_id,
            leeway=0,
        )
        assert checked.subject == claims["sub"] and checked.client_id == rp.client_id
        assert userinfo_status(browser, token) == 200


# --- account levels (acr) --------------------------------------------------------------


def test_acr_above_the_citizens_level_tells_them_what_to_do(browser, rp):
    outcome, _ = browser.authorize(rp, acr_values=scope_claims.acr_for("standard"))
    assert outcome.params is None, "nobody is let through below the level asked for"
    assert outcome.response.status_code == 403
    assert 'href="/cabinet/level"' in outcome.html
    assert "Электронный дневник" in text_of(outcome.response)


def test_prompt_none_with_unmet_acr_is_an_error_for_the_client(browser, rp):
    query, _ = authorization_params(rp, prompt="none", acr_values=scope_claims.acr_for("confirmed"))
    outcome = browser.follow(browser.open(query), rp.redirect_uri)
    assert outcome.params["error"] == "unmet_authentication_requirements"
    assert outcome.params["state"] == query["state"]


def test_standard_citizen_meets_acr_and_gets_level_bound_claims(app, proofing, make_citizen):
    make_standard(make_citizen, phone=PHONE)
    rp = register()
    person = Browser(app, PHONE)
    person.sign_in()
    body = tokens(person, rp, scope="openid snils", acr_values=scope_claims.acr_for("standard"))
    claims = verify(body["id_token"], fetch_jwks(person.http))[1]
    assert claims["acr"] == scope_claims.acr_for("standard")
    info = person.http.get("/oauth/userinfo", headers=bearer(body["access_token"])).get_json()
    assert info["snils"] == "112-233-445 95"


# --- scopes and consent ----------------------------------------------------------------


def test_scopes_above_the_level_are_shown_unavailable_and_not_released(browser, rp):
    outcome, verifier = browser.authorize(rp, scope="openid profile snils", consent=None)
    html = outcome.html
    refused = html[html.index('id="refused-scopes"') :]
    assert "СНИЛС" in refused.split("</ul>")[0]
    granted = html[html.index('id="granted-scopes"') :].split("</ul>")[0]
    assert "СНИЛС" not in granted
    finished = browser.follow(outcome.response, rp.redirect_uri)
    body = rp.exchange(browser.http, finished.code, verifier).get_json()
    assert set(body["scope"].split()) == {"openid", "profile"}
    info = browser.http.get("/oauth/userinfo", headers=bearer(body["access_token"])).get_json()
    assert "snils" not in info
    assert "snils" not in verify(body["id_token"], fetch_jwks(browser.http))[1]


def test_consent_is_remembered_per_client_and_scope_set(browser, rp):
    first, _ = browser.authorize(rp, scope="openid profile")
    assert first.pages == ["consent"]
    again, _ = browser.authorize(rp, scope="openid profile")
    assert again.pages == [] and again.code
    fewer, _ = browser.authorize(rp, scope="openid")
    assert fewer.pages == []
    asked, _ = browser.authorize(rp, scope="openid profile", prompt="consent")
    assert asked.pages == ["consent"]
    more, _ = browser.authorize(rp, scope="openid profile email")
    assert more.pages == ["consent"]
    other = register(name="Другой сервис")
    elsewhere, _ = browser.authorize(other, scope="openid profile")
    assert elsewhere.pages == ["consent"]


def test_prompt_none_without_consent_is_consent_required(browser, rp):
    query, _ = authorization_params(rp, prompt="none", scope="openid profile")
    outcome = browser.follow(browser.open(query), rp.redirect_uri)
    assert outcome.params["error"] == "consent_required"
    assert outcome.params["state"] == query["state"] and outcome.params["iss"] == issuer()


def test_denied_consent_gives_nothing(browser, rp):
    outcome, _ = browser.authorize(rp, scope="openid profile", consent="deny")
    assert outcome.params["error"] == "access_denied" and "code" not in outcome.params
    assert browser.authorize(rp, scope="openid profile", consent=None)[0].pages == ["consent"]


def test_consent_form_needs_its_csrf_token(browser, rp):
    outcome, _ = browser.authorize(rp, consent=None)
    form = next(f for f in forms_of(outcome.html) if f.action.endswith("/oauth/authorize"))
    fields = {k: v for k, v in form.fields.items() if k != "csrf_token"}
    response = browser.http.post(form.action, data={**fields, "decision": "allow"})
    assert response.status_code == 400 and "Location" not in response.headers


def test_client_secrets_are_stored_hashed(app, rp):
    stored = db.session.get(OAuthClient, oidc.get_client(rp.client_id).id)
    assert stored.client_secret_hash == digest(rp.secret)
    assert rp.secret not in str(vars(stored))
    assert len(rp.secret) >= 32
