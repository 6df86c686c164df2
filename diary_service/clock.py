"""The region's date: "today" for the diary is the day in the region's time zone
(``TIMEZONE``, e.g. Asia/Yekaterinburg), never the server's, which runs on UTC. At
00:30 in Yekaterinburg it is still yesterday in UTC: the week, the journal's lessons
"up to today", deadlines and trusted persons' last days all turn at the region's
midnight."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import current_app

from shared.sessions import utcnow
from shared.workdays import local_day


def today() -> date:
    """Today in the region (needs the app: its ``TIMEZONE``)."""
    return local_day(utcnow(), current_app.config["TIMEZONE"])


def day_of(moment: datetime) -> date:
    """The region's day of a moment stored in naive UTC (a row's ``created_at``)."""
    return local_day(moment, current_app.config["TIMEZONE"])


def now() -> datetime:
    """The region's wall-clock time, naive (as the times people enter are kept: a
    meeting's ``held_at``)."""
    return (
        utcnow()
        .replace(tzinfo=UTC)
        .astimezone(ZoneInfo(current_app.config["TIMEZONE"]))
        .replace(tzinfo=None)
    )


def start_of(day: date) -> datetime:
    """The region's midnight at the start of ``day``, in naive UTC (to compare with a
    row's ``created_at``)."""
    local = datetime.combine(day, datetime.min.time(), ZoneInfo(current_app.config["TIMEZONE"]))
    return local.astimezone(UTC).replace(tzinfo=None)
