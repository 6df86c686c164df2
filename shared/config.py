"""Configuration: non-secret defaults from ``config/<name>.toml``, prefixed environment
variables on top, explicit overrides (tests) last.

The environment is chosen by ``ENV`` (``development`` when unset: the embedded default).
In ``production`` every secret listed in the file's ``SECRETS`` must be supplied, and the
app refuses to start naming the first one missing. Outside production a missing secret
is generated once and kept in the instance folder, so a developer's sessions survive a
restart; there is no hard-coded fallback secret anywhere.
"""

from __future__ import annotations

import json
import os
import secrets
import tomllib
from pathlib import Path
from typing import Any

from flask import Flask

CONFIG_DIR = Path(os.environ.get("CONFIG_DIR", Path(__file__).resolve().parents[1] / "config"))
ENVIRONMENTS = ("development", "test", "production")


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


def _dev_secrets(app: Flask, name: str, missing: list[str]) -> dict[str, str]:
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
    # The list of required secrets comes from the file only: no variable can shorten it.
    required = list(values.pop("SECRETS", []))
    for key, raw in os.environ.items():
        setting = key[len(prefix) :]
        if key.startswith(prefix) and setting and setting != "SECRETS":
            try:
                values[setting] = _coerce(raw, values.get(setting))
            except ConfigError as exc:
                raise ConfigError(f"{key}: {exc}") from exc
    values.update(overrides)
    values.pop("SECRETS", None)
    values["ENV"] = env

    missing = [key for key in required if not values.get(key)]
    if missing:
        if env == "production":
            raise ConfigError(
                f"{prefix}{missing[0]} is not set: production needs every secret "
                f"({', '.join(prefix + k for k in required)})"
            )
        values.update(_dev_secrets(app, name, missing))

    if not values.get("DATABASE_URL"):
        if env == "production":
            raise ConfigError(f"{prefix}DATABASE_URL is not set")
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        values["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / (name + '.db')}"
    values["SQLALCHEMY_DATABASE_URI"] = database_uri(values["DATABASE_URL"])

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
