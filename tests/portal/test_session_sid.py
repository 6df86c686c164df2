"""The portal session's OpenID ``sid`` in a column of its own: kept by every save, and
copied out of the JSON of the sessions open when the column arrived (migration
f6a8c0e2b4d7), so that their refresh tokens keep working."""

from __future__ import annotations

import json

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from portal.extensions import db
from portal.identity.models import web_session
from shared.sessions import utcnow
from tests.portal.conftest import MIGRATIONS

BEFORE_SID_COLUMN = "e2f4a6b8c0d3"


def test_a_signed_in_session_keeps_its_sid_in_the_column(browser, rp):
    browser.authorize(rp)  # the authorization gives the session its OpenID sid
    [row] = db.session.execute(
        sa.select(web_session).where(web_session.c.user_id.is_not(None))
    ).all()
    assert row.sid and row.sid == json.loads(row.data)["sid"]


def test_sessions_open_before_the_column_get_their_sid(scratch_portal):
    app = scratch_portal
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision=BEFORE_SID_COLUMN)
        now = utcnow()
        old_form = sa.text(
            "INSERT INTO web_session (id_hash, public_id, user_id, data, created_at,"
            " last_seen_at, ip, user_agent) VALUES (:h, :p, :u, :d, :now, :now, '', '')"
        )
        db.session.execute(
            old_form,
            [
                {
                    "h": "a" * 64,
                    "p": "a" * 32,
                    "u": 7,
                    "d": '{"user_id":7,"sid":"s-1"}',
                    "now": now,
                },
                {"h": "b" * 64, "p": "b" * 32, "u": None, "d": '{"csrf":"x"}', "now": now},
            ],
        )
        db.session.commit()
        db.session.remove()

        upgrade(directory=MIGRATIONS)
        rows = db.session.execute(
            sa.text("SELECT public_id, sid FROM web_session ORDER BY public_id")
        ).all()
        assert [tuple(row) for row in rows] == [("a" * 32, "s-1"), ("b" * 32, None)]
        db.session.remove()
        downgrade(directory=MIGRATIONS, revision=BEFORE_SID_COLUMN)
        assert db.session.execute(sa.text("SELECT count(*) FROM web_session")).scalar() == 2
