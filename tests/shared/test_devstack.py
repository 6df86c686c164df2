"""``make run``'s wiring of two regional diaries (shared/devstack.py): the second diary's
settings, what the portal's seed registers for it, and the processes started. No server
is started here."""

from __future__ import annotations

import json
import stat
import tomllib

import sqlalchemy as sa

from diary_service import create_app as create_diary
from portal.demo import DEMO_DIARY_CLIENTS, seed_demo_diary_client
from portal.extensions import db as portal_db
from portal.oidc.models import OAuthClient, digest
from shared import devstack
from shared.config import CONFIG_DIR


def toml(name: str) -> dict:
    with (CONFIG_DIR / f"{name}.toml").open("rb") as fh:
        return tomllib.load(fh)


def test_the_second_diary_has_its_own_database_address_cookie_and_keys(tmp_path):
    env = devstack.region_2_env(tmp_path)
    assert env["DIARY_DATABASE_URL"] == f"sqlite:///{tmp_path / 'diary-region2.db'}"
    assert env["DIARY_PUBLIC_URL"] == "http://127.0.0.1:8003"
    assert env["DIARY_REGION_NAME"] == "Заречная область"
    # One host, two ports: the cookie names must differ or the sessions overwrite each other.
    assert env["DIARY_SESSION_COOKIE_NAME"] != toml("diary")["default"]["SESSION_COOKIE_NAME"]
    assert env["DIARY_OIDC_CLIENT_ID"] != toml("diary")["development"]["OIDC_CLIENT_ID"]
    # Its keys are generated once into a file of its own (not the first diary's) and kept.
    stored = tmp_path / "diary-region2-dev-secrets.json"
    assert json.loads(stored.read_text()) == {
        "SECRET_KEY": env["DIARY_SECRET_KEY"],
        "BLIND_INDEX_KEY": env["DIARY_BLIND_INDEX_KEY"],
    }
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert not (tmp_path / "diary-dev-secrets.json").exists()
    assert devstack.region_2_env(tmp_path) == env
    other = devstack.region_2_env(tmp_path / "elsewhere")
    assert other["DIARY_BLIND_INDEX_KEY"] != env["DIARY_BLIND_INDEX_KEY"]


def test_the_diary_started_with_those_variables_is_the_second_region(tmp_path, monkeypatch):
    env = devstack.region_2_env(tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    app = create_diary({"ENV": "development"})
    assert app.config["SESSION_COOKIE_NAME"] == "diary2_session"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == env["DIARY_DATABASE_URL"]
    assert (app.config["PUBLIC_URL"], app.config["OIDC_CLIENT_ID"]) == (
        "http://127.0.0.1:8003",
        "diary-demo-region-2",
    )
    assert app.config["BLIND_INDEX_KEY"] == env["DIARY_BLIND_INDEX_KEY"]
    assert app.config["SITE_NAME"] == "Электронный дневник Заречной области"
    # The secret the portal's seed registers the client with.
    assert (
        app.config["OIDC_CLIENT_SECRET"]
        == toml("portal")["development"]["DEMO_DIARY_REGION_2_CLIENT_SECRET"]
    )


def test_the_portal_registers_both_diaries_where_they_run(app):
    """What `flask --app portal seed` registers matches each diary's settings, and the
    cabinet's development links point at both."""
    first, second = (spec for spec, _key in DEMO_DIARY_CLIENTS)
    diary = toml("diary")
    assert first["client_id"] == diary["development"]["OIDC_CLIENT_ID"]
    assert second["client_id"] == "diary-demo-region-2"
    for spec, url in ((first, diary["default"]["PUBLIC_URL"]), (second, devstack.REGION_2_URL)):
        assert spec["redirect_uris"] == [f"{url}/auth/callback"]
        assert spec["post_logout_redirect_uris"] == [f"{url}/"]
        assert spec["backchannel_logout_uri"] == f"{url}/auth/backchannel-logout"
        assert spec["scopes"] == diary["default"]["OIDC_SCOPES"].split()
    regions = toml("portal")["development"]["DIARY_REGIONS"]
    assert [(region["url"], region["client_id"]) for region in regions] == [
        (diary["default"]["PUBLIC_URL"] + "/", first["client_id"]),
        (devstack.REGION_2_URL + "/", second["client_id"]),
    ]
    assert toml("portal")["default"]["DIARY_REGIONS"] == []

    for spec, key in DEMO_DIARY_CLIENTS:
        assert seed_demo_diary_client(spec, app.config[key]) is True
        assert seed_demo_diary_client(spec, app.config[key]) is False  # idempotent
    stored = {c.client_id: c for c in portal_db.session.execute(sa.select(OAuthClient)).scalars()}
    assert stored["diary-demo-region-2"].client_secret_hash == digest(
        app.config["DEMO_DIARY_REGION_2_CLIENT_SECRET"]
    )
    assert stored["diary-demo-region-2"].name == "Электронный дневник: Заречная область"


def test_make_run_starts_both_diaries_and_their_notifications():
    region_2 = {"DIARY_PUBLIC_URL": "http://127.0.0.1:8003"}
    started = devstack.services(region_2)
    ports = [port for _name, _app, port, _args, _env in started if port is not None]
    assert sorted(ports) == [8000, 8001, 8002, 8003]
    diaries = [
        (name, args[0], env) for name, app, _p, args, env in started if app == "diary_service"
    ]
    assert diaries == [
        ("diary", "run", {}),
        ("diary-2", "run", region_2),
        ("notifications", "notifications", {}),
        ("notifications-2", "notifications", region_2),
        ("federation-diary", "federation", {}),
        ("federation-diary-2", "federation", region_2),
    ]
    assert "http://{host}:8003" in devstack.BANNER


def test_region2_runs_flask_as_the_second_diary(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(devstack, "INSTANCE", tmp_path)
    monkeypatch.setattr(
        devstack.subprocess, "call", lambda argv, env: calls.append((argv, env)) or 0
    )
    assert devstack.main(["region2", "seed", "--region", "2"]) == 0
    ((argv, env),) = calls
    assert argv[1:] == ["--app", "diary_service", "seed", "--region", "2"]
    assert env["DIARY_SESSION_COOKIE_NAME"] == "diary2_session"
    assert devstack.main(["other"]) == 2


def test_make_run_sweeps_timed_out_sessions_like_celery_beat():
    """Under make run the OpenID Provider's sweep (timed-out sessions end with back-channel
    logout) runs as a loop, as Celery beat runs it in production."""
    started = {name: (app, args) for name, app, _port, args, _env in devstack.services({})}
    assert started["oidc-sweep"] == ("portal", ["oidc", "sweep", "--loop", "30"])
