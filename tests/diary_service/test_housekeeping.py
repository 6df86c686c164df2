"""``flask --app diary_service prune``: what is past its retention goes, in batches;
what is not stays; ``--dry-run`` only counts."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from diary_service.extensions import db
from diary_service.models import diary_session
from diary_service.models.auth import PortalSession
from diary_service.models.family import StudentAccess
from diary_service.models.federation import PortalMessage
from diary_service.models.messages import Notification
from shared.sessions import utcnow


def count(table) -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_prune_deletes_only_what_is_past_retention_in_batches(world, diary_app):
    now = utcnow()
    petr = world.one.students["petr"]
    parent = world.people["nobody"]
    db.session.add_all(
        [
            StudentAccess(
                student_id=petr.id, role="teacher", what="week", at=now - timedelta(days=d)
            )
            for d in (1, 100, 729, 731, 800, 900, 1000, 2000)
        ]
    )

    def notification(**fields):
        return Notification(person_id=parent.id, event="mark", channel="sms", body="…", **fields)

    db.session.add_all(
        [
            notification(sent_at=now - timedelta(days=91)),
            notification(sent_at=now - timedelta(days=89)),
            notification(created_at=now - timedelta(days=120)),  # never sent
            notification(created_at=now - timedelta(days=2)),  # still due
            PortalMessage(event="x", target="portal", key="1", data={}, next_attempt_at=now),
            PortalMessage(
                event="x", target="portal", key="2", data={}, delivered_at=now - timedelta(days=31)
            ),
            PortalMessage(
                event="x", target="portal", key="3", data={}, gave_up_at=now - timedelta(days=40)
            ),
            PortalMessage(
                event="x", target="portal", key="4", data={}, delivered_at=now - timedelta(days=1)
            ),
            PortalSession(sid="old", person_id=parent.id, created_at=now - timedelta(days=3)),
            PortalSession(sid="new", person_id=parent.id, created_at=now),
        ]
    )
    sessions = [
        # (signed in, last seen): idle past 30 minutes, past 12 hours absolute, fresh.
        ("a" * 64, parent.id, now - timedelta(hours=1), now - timedelta(hours=1)),
        ("b" * 64, parent.id, now - timedelta(hours=13), now - timedelta(minutes=1)),
        ("c" * 64, parent.id, now - timedelta(minutes=5), now - timedelta(minutes=1)),
        ("d" * 64, None, now - timedelta(hours=2), now - timedelta(hours=2)),
    ]
    for id_hash, user_id, created, seen in sessions:
        db.session.execute(
            diary_session.insert().values(
                id_hash=id_hash,
                public_id=id_hash[:32],
                user_id=user_id,
                data="{}",
                created_at=created,
                authenticated_at=created if user_id else None,
                last_seen_at=seen,
            )
        )
    db.session.commit()
    accesses = count(StudentAccess)
    runner = diary_app.test_cli_runner()

    dry = runner.invoke(args=["prune", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "student_access: would delete 5" in dry.output
    assert count(StudentAccess) == accesses

    result = runner.invoke(args=["prune", "--batch", "2"])
    assert result.exit_code == 0, result.output
    for line in (
        "student_access: deleted 5",
        "notification: deleted 2",
        "portal_message: deleted 2",
        "diary_session: deleted 3",
        "portal_session: deleted 1",
    ):
        assert line in result.output
    kept = db.session.execute(sa.select(StudentAccess.at)).scalars().all()
    assert all(now - at < timedelta(days=730) for at in kept)
    assert count(StudentAccess) == accesses - 5
    assert db.session.execute(sa.select(diary_session.c.id_hash)).scalars().all() == ["c" * 64]
    assert sorted(db.session.execute(sa.select(PortalMessage.key)).scalars()) == ["1", "4"]
    assert db.session.execute(sa.select(PortalSession.sid)).scalars().all() == ["new"]
    assert runner.invoke(args=["prune"]).output.count("deleted 0") == 5
