"""Configuration: non-secret defaults from ``config/<name>.toml``, prefixed environment
variables on top, explicit overrides (tests) last.

The environment is chosen by ``ENV`` (``development`` when unset: the embedded default).
In ``production`` every secret listed in the file's ``SECRETS`` must be supplied and
strong (``check_secret``: at least 32 random bytes' worth, never a development default),
every setting listed in the layer's ``REQUIRED`` (the addresses of outside systems) must
be set, and an app whose file says ``STAND_ONLY`` starts only when ``ALLOW_STAND`` is
true; the app refuses to start naming the variable. Outside production a missing secret
is generated once and kept in the instance folder, so a developer's sessions survive a
restart; there is no hard-coded fallback secret anywhere.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
import tomllib
from pathlib import Path
from typing import Any

from flask import Flask

CONFIG_DIR = Path(os.environ.get("CONFIG_DIR", Path(__file__).resolve().parents[1] / "config"))
ENVIRONMENTS = ("development", "test", "production")
# Settings only the files can give: no variable can shorten what production checks.
FILE_ONLY = ("SECRETS", "REQUIRED", "STAND_ONLY")

# What production takes as a secret of 32 random bytes (docs/operations.md, "Configuration").
# A text secret: at least 43 characters, what ``secrets.token_urlsafe(32)`` prints (32
# bytes in base64url; ``token_hex(32)``'s 64 characters do too), with at least 12
# different characters, which refuses a placeholder ("x" * 64, "changeme" repeated) but
# cannot tell a random value from one made up to pass: generate them as shown.
# A key of a key set (``*_KEYS``): base64url of exactly 32 bytes, at least 16 different.
SECRET_MIN_LENGTH = 43
SECRET_MIN_DISTINCT = 12
KEY_BYTES = 32
KEY_MIN_DISTINCT_BYTES = 16
# Every embedded default carries this mark; production refuses a value containing it.
DEVELOPMENT_MARK = "not-for-production"


class ConfigError(RuntimeError):
    """The configuration cannot run: the message names the variable to set."""


def _coerce(raw: str, default: Any) -> Any:
    """Environment values are strings; they take the type of the file's default.

    Only numbers, booleans and lists are parsed (as JSON); everything else, secrets
    included, stays a string, so a key id ``2026`` or an all-digit password is not
    turned into a number.
    """
    if isinstance(default, bool | int | float | list):
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise ConfigError(f"{raw!r} is not a valid {type(default).__name__}") from exc
        if isinstance(default, bool) and not isinstance(value, bool):
            raise ConfigError(f"{raw!r} is not true or false")
        return value
    return raw


def _generate_secret(name: str) -> str:
    # Keys used for AES-GCM and HMAC need 32 random bytes; the rest take a long token.
    return (
        secrets.token_urlsafe(32)
        if not name.endswith("_KEYS")
        else json.dumps({"dev1": secrets.token_urlsafe(32)})
    )


def dev_secrets(app: Flask, name: str, missing: list[str]) -> dict[str, str]:
    path = Path(app.instance_path) / f"{name}-dev-secrets.json"
    stored: dict[str, str] = {}
    if path.exists():
        stored = json.loads(path.read_text(encoding="utf-8"))
    changed = False
    for key in missing:
        if key not in stored:
            stored[key] = _generate_secret(key)
            changed = True
    if changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(stored, indent=2), encoding="utf-8")
        path.chmod(0o600)
    return {key: stored[key] for key in missing}


def _development_values() -> set[str]:
    """Every text value the files give outside production (of every app: the diary's
    client secret is the portal's demo one)."""
    found: set[str] = set()
    for path in CONFIG_DIR.glob("*.toml"):
        with path.open("rb") as fh:
            layers = tomllib.load(fh)
        for env, layer in layers.items():
            if env != "production" and isinstance(layer, dict):
                found.update(v for v in layer.values() if isinstance(v, str) and v)
    return found


def _is_varied(text: str | bytes, distinct: int) -> bool:
    return len(set(text)) >= distinct


def check_secret(variable: str, value: Any) -> None:
    """Refuse a secret production must not run with, naming ``variable`` (never the value)."""
    if isinstance(value, str) and (DEVELOPMENT_MARK in value or value in _development_values()):
        raise ConfigError(f"{variable} is a development default: production needs its own")
    if variable.endswith("_KEYS"):
        _check_key_set(variable, value)
        return
    if not isinstance(value, str):
        raise ConfigError(f"{variable} must be text")
    if len(value) < SECRET_MIN_LENGTH or not _is_varied(value, SECRET_MIN_DISTINCT):
        raise ConfigError(
            f"{variable} is too weak: production needs 32 random bytes, at least "
            f"{SECRET_MIN_LENGTH} varied characters "
            '(python3 -c "import secrets; print(secrets.token_urlsafe(32))")'
        )


def _check_key_set(variable: str, value: Any) -> None:
    try:
        keys = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        keys = None
    if not isinstance(keys, dict) or not keys:
        raise ConfigError(f'{variable} must be a JSON object {{"key id": "base64url of 32 bytes"}}')
    for kid, text in keys.items():
        try:
            raw = base64.urlsafe_b64decode(str(text) + "=" * (-len(str(text)) % 4))
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != KEY_BYTES or not _is_varied(raw, KEY_MIN_DISTINCT_BYTES):
            raise ConfigError(
                f"{variable}: key {kid!r} must be base64url of {KEY_BYTES} random bytes "
                f"(it decodes to {len(raw)} bytes"
                + (")" if len(raw) != KEY_BYTES else ", with too few different values)")
            )


def load_config(
    app: Flask, *, name: str, prefix: str, overrides: dict[str, Any] | None = None
) -> None:
    """Fill ``app.config`` for the app called ``name`` whose variables start with ``prefix``."""
    overrides = dict(overrides or {})
    env = str(
        overrides.get("ENV")
        or os.environ.get(f"{prefix}ENV")
        or os.environ.get("ENV")
        or "development"
    )
    if env not in ENVIRONMENTS:
        raise ConfigError(f"ENV must be one of {', '.join(ENVIRONMENTS)}, not {env!r}")

    with (CONFIG_DIR / f"{name}.toml").open("rb") as fh:
        layers = tomllib.load(fh)
    values: dict[str, Any] = dict(layers.get("default", {}))
    values.update(layers.get(env, {}))
    # What production checks comes from the file only: no variable can shorten it.
    required = list(values.pop("SECRETS", []))
    addresses = list(values.pop("REQUIRED", []))
    stand_only = bool(values.pop("STAND_ONLY", False))
    for key, raw in os.environ.items():
        setting = key[len(prefix) :]
        if key.startswith(prefix) and setting and setting not in FILE_ONLY:
            try:
                values[setting] = _coerce(raw, values.get(setting))
            except ConfigError as exc:
                raise ConfigError(f"{key}: {exc}") from exc
    values.update(overrides)
    for setting in FILE_ONLY:
        values.pop(setting, None)
    values["ENV"] = env

    if stand_only and env == "production" and values.get("ALLOW_STAND") is not True:
        raise ConfigError(
            f"{prefix}ALLOW_STAND is not true: this app stands in for outside systems on "
            "demo and test stands only, and production does not start it"
        )
    missing = [key for key in required if not values.get(key)]
    if missing:
        if env == "production":
            raise ConfigError(
                f"{prefix}{missing[0]} is not set: production needs every secret "
                f"({', '.join(prefix + k for k in required)})"
            )
        values.update(dev_secrets(app, name, missing))
    if env == "production":
        for key in required:
            check_secret(prefix + key, values[key])

    if not values.get("DATABASE_URL"):
        if env == "production":
            raise ConfigError(f"{prefix}DATABASE_URL is not set")
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        values["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / (name + '.db')}"
    values["SQLALCHEMY_DATABASE_URI"] = database_uri(values["DATABASE_URL"])
    for key in addresses:
        if not values.get(key):
            raise ConfigError(
                f"{prefix}{key} is not set: production names every outside system it "
                f"talks to ({', '.join(prefix + k for k in addresses)})"
            )

    # Cookies: HttpOnly and SameSite always, Secure whenever served over HTTPS (production).
    values.setdefault("SESSION_COOKIE_HTTPONLY", True)
    values.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    values["SESSION_COOKIE_SECURE"] = bool(values.get("SESSION_COOKIE_SECURE", env == "production"))
    app.config.update(values)


def database_uri(url: str) -> str:
    """PostgreSQL URLs are served by psycopg 3 whatever driver the URL names."""
    for plain in ("postgres://", "postgresql://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain) :]
    return url
