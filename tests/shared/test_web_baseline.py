"""What both apps share on the web: error pages, JSON errors, headers, health, languages."""

from __future__ import annotations

import pytest
from flask import abort

from portal import create_app as create_portal
from shared.errors import Forbidden
from shared.security import safe_next
from tests.conftest import SECRETS
from tests.helpers import submit, text_of


@pytest.fixture(params=["portal", "diary"])
def any_client(request, app, diary_app):
    return (app if request.param == "portal" else diary_app).test_client()


def test_health_and_readiness(any_client):
    assert any_client.get("/healthz").json == {"status": "ok"}
    ready = any_client.get("/readyz")
    assert ready.status_code == 200 and ready.json["checks"]["database"] == "ok"


def test_readiness_fails_when_the_database_is_gone(tmp_path):
    app = create_portal(
        {"ENV": "test", **SECRETS, "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    )
    response = app.test_client().get("/readyz")
    assert response.status_code == 503 and response.json["status"] == "fail"
    assert response.json["checks"]["database"] == "down"
    assert app.test_client().get("/healthz").status_code == 200


def test_security_headers(any_client):
    response = any_client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert (
        "default-src 'self'" in csp
        and "frame-ancestors 'none'" in csp
        and "unsafe-inline" not in csp
    )
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize(
    ("lang", "title_404", "title_405"),
    [
        ("ru", "Страница не найдена", "Метод не поддерживается"),
        ("en", "Page not found", "Method not allowed"),
    ],
)
def test_error_pages_in_both_languages(any_client, lang, title_404, title_405):
    headers = {"Accept-Language": lang}
    missing = any_client.get("/no-such-page", headers=headers)
    assert missing.status_code == 404 and title_404 in text_of(missing)
    wrong_method = any_client.delete("/", headers=headers)
    assert wrong_method.status_code == 405 and title_405 in text_of(wrong_method)


def test_too_large_and_bad_requests(app):
    client = app.test_client()
    big = client.post(
        "/login", data={"login": "x" * (2 * 1024 * 1024)}, headers={"Accept-Language": "ru"}
    )
    assert big.status_code == 413 and "Слишком большой запрос" in text_of(big)
    no_csrf = client.post(
        "/login", data={"login": "x", "password": "y"}, headers={"Accept-Language": "en"}
    )
    assert no_csrf.status_code == 400 and "The form has expired" in text_of(no_csrf)


def test_json_errors_for_api_and_oauth_endpoints(any_client):
    for path in ("/api/v1/nothing", "/oauth/nothing"):
        response = any_client.get(path)
        assert response.status_code == 404 and response.is_json
        assert response.json["error"] == "not_found" and response.json["error_description"]
    asked = any_client.get("/no-such-page", headers={"Accept": "application/json"})
    assert asked.is_json and asked.json["error"] == "not_found"


def test_403_429_and_500_pages(tmp_path):
    app = create_portal(
        {"ENV": "test", **SECRETS, "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}"}
    )

    @app.get("/forbidden")
    def forbidden():
        raise Forbidden()

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret detail 112-233-445 95")

    @app.get("/api/boom")
    def api_boom():
        raise RuntimeError("secret detail")

    @app.get("/busy")
    def busy():
        abort(429)

    client = app.test_client()
    assert "Доступ запрещён" in text_of(client.get("/forbidden"))
    assert client.get("/forbidden").status_code == 403
    crashed = client.get("/boom")
    assert crashed.status_code == 500 and "Что-то пошло не так" in text_of(crashed)
    assert "112-233-445" not in crashed.get_data(as_text=True)
    assert client.get("/api/boom").json == {
        "error": "server_error",
        "error_description": client.get("/api/boom").json["error_description"],
    }
    assert client.get("/busy", headers={"Accept-Language": "en"}).status_code == 429
    assert "Too many requests" in text_of(client.get("/busy", headers={"Accept-Language": "en"}))


def test_language_switch_and_accept_language(any_client):
    english = any_client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in english.get_data(as_text=True)
    russian = any_client.get("/")
    assert '<html lang="ru">' in russian.get_data(as_text=True)
    switched = any_client.get("/lang/en?next=/healthz")
    assert switched.status_code == 302 and switched.headers["Location"] == "/healthz"
    assert '<html lang="en">' in any_client.get("/", headers={"Accept-Language": "ru"}).get_data(
        as_text=True
    )
    any_client.get("/lang/ru")
    assert '<html lang="ru">' in any_client.get("/", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    assert any_client.get("/lang/xx?next=https://evil.example").headers["Location"] == "/"


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/cabinet/", "/cabinet/"),
        ("/cabinet/?tab=1", "/cabinet/?tab=1"),
        ("https://evil.example/", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("\\\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/ok\nSet-Cookie: x", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_safe_next(target, expected):
    assert safe_next(target) == expected


def test_session_cookie_is_httponly_and_samesite(app, make_citizen):
    make_citizen(phone="+79161234567")
    client = app.test_client()

    submit(client, "/login", {"login": "+79161234567", "password": "violet-harbour-lamp"})
    cookie = client.get_cookie("portal_session")
    assert cookie.http_only and cookie.same_site == "Lax"
