"""Configuration: files, prefixed variables, and production's refusal to start without secrets."""

from __future__ import annotations

import pytest

from diary_service import create_app as create_diary
from portal import create_app as create_portal
from shared.config import ConfigError, database_uri
from tests.conftest import SECRETS


def test_production_without_a_secret_refuses_to_start_and_names_it(monkeypatch, tmp_path):
    for name in (
        "SECRET_KEY",
        "PII_KEYS",
        "BLIND_INDEX_KEY",
        "CODE_KEY",
        "DATABASE_URL",
        "SECRETS",
    ):
        monkeypatch.delenv(f"PORTAL_{name}", raising=False)
    with pytest.raises(ConfigError, match="PORTAL_SECRET_KEY is not set"):
        create_portal({"ENV": "production", "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}"})
    partial = {
        "ENV": "production",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}",
        "SECRET_KEY": "x" * 40,
    }
    with pytest.raises(ConfigError, match="PORTAL_PII_KEYS is not set"):
        create_portal(partial)


def test_a_variable_cannot_switch_off_the_secrets_check(monkeypatch, tmp_path):
    monkeypatch.setenv("PORTAL_SECRETS", "[]")
    with pytest.raises(ConfigError, match="PORTAL_SECRET_KEY is not set"):
        create_portal({"ENV": "production", "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}"})


def test_diary_production_needs_its_secrets_and_database(monkeypatch):
    for name in (
        "SECRET_KEY",
        "BLIND_INDEX_KEY",
        "OIDC_CLIENT_SECRET",
        "LINK_CODE_KEY",
        "DATABASE_URL",
    ):
        monkeypatch.delenv(f"DIARY_{name}", raising=False)
    with pytest.raises(ConfigError, match="DIARY_SECRET_KEY is not set"):
        create_diary({"ENV": "production"})
    with pytest.raises(ConfigError, match="DIARY_BLIND_INDEX_KEY is not set"):
        create_diary({"ENV": "production", "SECRET_KEY": "x" * 40})
    secrets = {
        "SECRET_KEY": "x" * 40,
        "BLIND_INDEX_KEY": "y" * 40,
        "OIDC_CLIENT_SECRET": "z" * 40,
        "LINK_CODE_KEY": "w" * 40,
    }
    with pytest.raises(ConfigError, match="DIARY_DATABASE_URL is not set"):
        create_diary({"ENV": "production", **secrets})


def test_production_with_its_secrets_starts_with_secure_cookies(tmp_path):
    app = create_portal(
        {"ENV": "production", "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}", **SECRETS}
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_prefixed_variables_override_files_with_the_files_types(monkeypatch, tmp_path):
    monkeypatch.setenv("PORTAL_CODE_LIFETIME", "300")
    monkeypatch.setenv("PORTAL_SMTP_STARTTLS", "true")
    monkeypatch.setenv("PORTAL_PII_ACTIVE_KEY", "2026")  # a string stays a string
    monkeypatch.setenv("DIARY_CODE_LIFETIME", "1")  # another app's prefix is not read
    keys = {"2026": SECRETS["PII_KEYS"]["t1"]}
    config = {
        **SECRETS,
        "ENV": "test",
        "PII_KEYS": keys,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}",
    }
    del config["PII_ACTIVE_KEY"]  # taken from the variable
    app = create_portal(config)
    assert app.config["CODE_LIFETIME"] == 300
    assert app.config["SMTP_STARTTLS"] is True
    assert app.extensions["pii"].active == "2026"


def test_a_malformed_number_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PORTAL_CODE_LIFETIME", "ten minutes")
    with pytest.raises(ConfigError, match="PORTAL_CODE_LIFETIME"):
        create_portal({"ENV": "test", **SECRETS, "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}"})


def test_each_app_has_its_own_cookie_and_database(portal_app, diary_app):
    assert portal_app.config["SESSION_COOKIE_NAME"] == "portal_session"
    assert diary_app.config["SESSION_COOKIE_NAME"] == "diary_session"
    assert (
        portal_app.config["SQLALCHEMY_DATABASE_URI"] != diary_app.config["SQLALCHEMY_DATABASE_URI"]
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_postgresql_urls_use_psycopg3(url, expected):
    assert database_uri(url) == expected
