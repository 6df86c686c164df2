"""Configuration: files, prefixed variables, and production's refusal to start without
strong secrets, without the addresses of the outside systems, or as a simulator."""

from __future__ import annotations

import base64
import json
import os
import secrets
import tomllib

import pytest

from diary_service import create_app as create_diary
from portal import create_app as create_portal
from portal.simulator import create_app as create_simulator
from shared.config import CONFIG_DIR, ConfigError, check_secret, database_uri
from tests.conftest import SECRETS


def strong() -> str:
    return secrets.token_urlsafe(32)


def pii_keys(raw: bytes | None = None) -> str:
    key = base64.urlsafe_b64encode(raw or secrets.token_bytes(32)).decode().rstrip("=")
    return json.dumps({"k2026a": key})


def production(app: str, tmp_path) -> dict:
    """Everything production needs for ``app``, every secret strong."""
    names = {
        "portal": ["SECRET_KEY", "BLIND_INDEX_KEY", "CODE_KEY", "REGISTRY_KEY"],
        "diary": ["SECRET_KEY", "BLIND_INDEX_KEY", "OIDC_CLIENT_SECRET", "LINK_CODE_KEY"],
        "simulator": ["SECRET_KEY", "REGISTRY_KEY", "TESTER_TOKEN"],
    }[app]
    config = {"ENV": "production", "DATABASE_URL": f"sqlite:///{tmp_path / (app + '.db')}"}
    config.update({name: strong() for name in names})
    if app == "portal":
        config.update(
            PII_KEYS=pii_keys(),
            PUBLIC_URL="https://gosuslugi.example.ru",
            REGISTRY_URL="https://smev.example.ru",
            SMTP_HOST="smtp.example.ru",
            SMS_GATEWAY_URL="https://sms.example.ru/messages",
        )
    if app == "diary":
        config.update(
            OIDC_CLIENT_ID="diary-region-77",
            PUBLIC_URL="https://dnevnik.example.ru",
            PORTAL_URL="https://gosuslugi.example.ru",
            SMTP_HOST="smtp.example.ru",
            SMS_GATEWAY_URL="https://sms.example.ru/messages",
        )
    if app == "simulator":
        config["ALLOW_STAND"] = True
    return config


CREATE = {"portal": create_portal, "diary": create_diary, "simulator": create_simulator}
PREFIX = {"portal": "PORTAL_", "diary": "DIARY_", "simulator": "SIMULATOR_"}


@pytest.fixture(autouse=True)
def no_app_variables(monkeypatch):
    """What the shell running the suite exports must not decide these tests."""
    for name in list(os.environ):
        if name.startswith(tuple(PREFIX.values())) and not name.endswith("_ENV"):
            monkeypatch.delenv(name)


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
        "SECRET_KEY": strong(),
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
        create_diary({"ENV": "production", "SECRET_KEY": strong()})
    given = {
        "SECRET_KEY": strong(),
        "BLIND_INDEX_KEY": strong(),
        "OIDC_CLIENT_SECRET": strong(),
        "LINK_CODE_KEY": strong(),
    }
    with pytest.raises(ConfigError, match="DIARY_DATABASE_URL is not set"):
        create_diary({"ENV": "production", **given})


def test_production_with_its_secrets_starts_with_secure_cookies(tmp_path):
    app = create_portal(production("portal", tmp_path))
    assert app.config["SMTP_PORT"] == 587 and app.config["SMTP_STARTTLS"] is True
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


# --- strong secrets in production ------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "refusal"),
    [
        ("x", "is too weak"),
        ("x" * 64, "is too weak"),  # long, but one character
        ("ab" * 32, "is too weak"),
        ("changeme" * 8, "is too weak"),  # 6 different characters
        (secrets.token_urlsafe(31), "is too weak"),  # 42 characters: 31 bytes
        ("embedded-default-registry-key-not-for-production", "is a development default"),
        ("my-own-key-but-still-not-for-production-0123456789", "is a development default"),
    ],
    ids=["x", "64 x", "ab", "changeme", "31 bytes", "default", "not-for-production"],
)
def test_a_weak_or_development_secret_is_refused_by_name(value, refusal):
    with pytest.raises(ConfigError, match=f"^PORTAL_REGISTRY_KEY {refusal}") as caught:
        check_secret("PORTAL_REGISTRY_KEY", value)
    assert value not in str(caught.value)  # the message names the variable, not the value


# Test ids name the values: random ones differ between the suite's worker processes.
@pytest.mark.parametrize(
    "value", [secrets.token_urlsafe(32), secrets.token_hex(32)], ids=["urlsafe", "hex"]
)
def test_generated_secrets_pass(value):
    check_secret("PORTAL_CODE_KEY", value)


@pytest.mark.parametrize(
    ("value", "refusal"),
    [
        (pii_keys(secrets.token_bytes(16)), "key 'k2026a' must be base64url of 32 random bytes"),
        (pii_keys(b"k" * 32), "with too few different values"),
        (json.dumps({"k1": "x" * 43}), "with too few different values"),
        ("not json", "must be a JSON object"),
        ("{}", "must be a JSON object"),
    ],
    ids=["16 bytes", "one byte value", "one character", "not json", "empty"],
)
def test_a_pii_key_is_checked_by_its_decoded_bytes(value, refusal):
    with pytest.raises(ConfigError, match=f"^PORTAL_PII_KEYS.*{refusal}"):
        check_secret("PORTAL_PII_KEYS", value)


def secrets_of(app: str) -> list[str]:
    with (CONFIG_DIR / f"{'diary' if app == 'diary' else app}.toml").open("rb") as fh:
        layers = tomllib.load(fh)
    return layers.get("production", {}).get("SECRETS") or layers["default"]["SECRETS"]


@pytest.mark.parametrize(
    ("app", "secret"),
    [(app, secret) for app in ("portal", "diary", "simulator") for secret in secrets_of(app)],
)
def test_every_secret_of_every_app_is_checked_in_production(app, secret, tmp_path):
    config = production(app, tmp_path)
    CREATE[app](config)  # strong values start
    config[secret] = "x" if secret != "PII_KEYS" else pii_keys(b"x" * 32)
    with pytest.raises(ConfigError, match=f"^{PREFIX[app]}{secret}"):
        CREATE[app](config)


@pytest.mark.parametrize("app", ["portal", "diary"])
def test_every_development_default_is_refused_in_production(app, tmp_path):
    with (CONFIG_DIR / f"{app}.toml").open("rb") as fh:
        layers = tomllib.load(fh)
    for layer in ("development", "test"):
        for name, value in layers[layer].items():
            if name in secrets_of(app):
                config = {**production(app, tmp_path), name: value}
                with pytest.raises(ConfigError, match=f"{PREFIX[app]}{name} is a development"):
                    CREATE[app](config)


def test_a_weak_secret_is_refused_from_the_environment_too(monkeypatch, tmp_path):
    config = production("portal", tmp_path)
    del config["SECRET_KEY"]
    monkeypatch.setenv("PORTAL_SECRET_KEY", "x")
    with pytest.raises(ConfigError, match=r"^PORTAL_SECRET_KEY is too weak"):
        create_portal(config)


def test_outside_production_secrets_are_not_judged(tmp_path):
    app = create_portal({**SECRETS, "ENV": "test", "DATABASE_URL": f"sqlite:///{tmp_path}/p.db"})
    assert app.config["SECRET_KEY"] == SECRETS["SECRET_KEY"]


# --- outside systems named in production --------------------------------------------------


@pytest.mark.parametrize(
    ("app", "address"),
    [
        ("portal", "REGISTRY_URL"),
        ("portal", "SMTP_HOST"),
        ("portal", "SMS_GATEWAY_URL"),
        ("portal", "PUBLIC_URL"),
        ("diary", "SMTP_HOST"),
        ("diary", "SMS_GATEWAY_URL"),
    ],
)
def test_production_refuses_to_start_without_an_outside_systems_address(app, address, tmp_path):
    config = production(app, tmp_path)
    del config[address]
    with pytest.raises(ConfigError, match=f"^{PREFIX[app]}{address} is not set: production names"):
        CREATE[app](config)


def test_production_has_no_address_of_the_simulator_by_default():
    for app in ("portal", "diary"):
        with (CONFIG_DIR / f"{app}.toml").open("rb") as fh:
            layers = tomllib.load(fh)
        merged = {**layers["default"], **layers["production"]}
        for address in ("SMTP_HOST", "SMS_GATEWAY_URL", "REGISTRY_URL"):
            assert merged.get(address, "") == "", (app, address)


# --- the simulator is for stands ------------------------------------------------------------


def test_the_simulator_refuses_production_unless_a_stand_allows_it(monkeypatch, tmp_path):
    config = production("simulator", tmp_path)
    del config["ALLOW_STAND"]
    with pytest.raises(ConfigError, match=r"^SIMULATOR_ALLOW_STAND is not true"):
        create_simulator(config)
    monkeypatch.setenv("SIMULATOR_STAND_ONLY", "false")  # no variable switches it off
    with pytest.raises(ConfigError, match=r"^SIMULATOR_ALLOW_STAND is not true"):
        create_simulator(config)
    monkeypatch.setenv("SIMULATOR_ALLOW_STAND", "true")
    app = create_simulator(config)
    assert app.config["ALLOW_STAND"] is True


def test_a_stand_needs_a_strong_tester_token(tmp_path):
    config = production("simulator", tmp_path)
    del config["TESTER_TOKEN"]
    with pytest.raises(ConfigError, match=r"^SIMULATOR_TESTER_TOKEN is not set"):
        create_simulator(config)
    with pytest.raises(ConfigError, match=r"^SIMULATOR_TESTER_TOKEN is too weak"):
        create_simulator({**config, "TESTER_TOKEN": "tester"})
