"""The request id from the diary to the portal, over real HTTP: the person's browser asks
the diary with an id, the diary's Authlib client calls the portal's discovery, token,
JWKS and userinfo endpoints, and the portal's JSON request lines name the same id."""

from __future__ import annotations

import urllib.error
import urllib.request

from tests.diary_service.test_auth import (  # noqa: F401 (fixtures)
    PHONE,
    Browser,
    diary,
    start_sign_in,
    to_callback,
)
from tests.observability_helpers import json_logs

LOGIN_ID = "diary-login-0000000000000001"
CALLBACK_ID = "diary-callback-00000000000002"


def _open(browser: Browser, url: str, request_id: str):
    """A browser request carrying ``X-Request-ID`` (a proxy in front would set one)."""
    request = urllib.request.Request(url, headers={"X-Request-ID": request_id})
    try:
        with browser.opener.open(request, timeout=20) as response:
            return response.status, response.headers
    except urllib.error.HTTPError as error:  # the redirect, not followed
        with error:
            return error.code, error.headers


def test_the_request_id_follows_a_sign_in_from_the_diary_to_the_portal(
    diary,  # noqa: F811
    portal_server,
    make_citizen,
):
    make_citizen(phone=PHONE)
    browser = Browser(portal_server)
    with json_logs() as logs:
        status, headers = _open(browser, diary.url + "/auth/login", LOGIN_ID)
    assert status == 302 and headers["X-Request-ID"] == LOGIN_ID
    # The diary fetched the portal's discovery document under the browser's request id.
    assert logs.requests(app="portal", endpoint="oidc.discovery", request_id=LOGIN_ID)
    assert logs.requests(app="diary", endpoint="auth.login", request_id=LOGIN_ID)

    callback = to_callback(browser, diary, headers["Location"])
    with json_logs() as logs:
        status, headers = _open(browser, callback, CALLBACK_ID)
    assert status == 302 and headers["X-Request-ID"] == CALLBACK_ID
    portal_lines = logs.requests(app="portal", request_id=CALLBACK_ID)
    assert {line["endpoint"] for line in portal_lines} >= {
        "oidc.token",
        "oidc.jwks_endpoint",
        "oidc.userinfo_endpoint",
    }
    assert all(line["status"] == 200 for line in portal_lines)
    (diary_line,) = logs.requests(app="diary", endpoint="auth.callback")
    assert diary_line["request_id"] == CALLBACK_ID and diary_line["user_id"]
    # Nothing the portal sent (tokens, claims) reached a log line.
    assert "eyJ" not in logs.text and PHONE[2:] not in logs.text
    assert start_sign_in  # imported with the fixtures it belongs to
