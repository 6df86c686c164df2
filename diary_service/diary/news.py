"""A student's news page: the school's and the class's notices and the parent meetings
in force, and the past ones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from diary_service.access import Reach, class_of
from diary_service.diary.pages import PAST_NEWS_SHOWN, current_year
from diary_service.diary.week import sees_notice
from diary_service.extensions import db
from diary_service.models.school import (
    Notice,
    ParentMeeting,
    Student,
)


@dataclass
class NewsPage:
    current: list[Notice]
    past: list[Notice]
    upcoming_meetings: list[ParentMeeting]
    past_meetings: list[ParentMeeting]


def news_page(student: Student, today: date, reach: Reach) -> NewsPage:
    """The school's and the student's classes' notices (in force or coming, then
    ended) and the classes' parent meetings (coming, then held), of the student's
    current year; for staff, of their spans only."""
    year = current_year(student, today, reach, "schedule")
    enrolments = [
        e for e in student.enrolments if year is None or e.school_class.year_id == year.id
    ]
    class_ids = {e.class_id for e in enrolments}
    school_ids = {e.school_class.school_id for e in enrolments}
    if "schedule" in reach.whole:
        school_class = class_of(student, today)
        current = school_class.school_id if school_class is not None else student.school_id
        school_ids = {current} if current is not None else set()
    notices: list[Notice] = []
    if school_ids:
        notices = [
            notice
            for notice in db.session.execute(
                sa.select(Notice)
                .options(selectinload(Notice.school_class))
                .where(
                    Notice.school_id.in_(school_ids),
                    sa.or_(Notice.class_id.is_(None), Notice.class_id.in_(class_ids)),
                )
                .order_by(Notice.starts_on.desc(), Notice.id.desc())
            ).scalars()
            if sees_notice(reach, notice)
        ]
    meetings = [
        meeting
        for meeting in db.session.execute(
            sa.select(ParentMeeting)
            .where(ParentMeeting.class_id.in_(class_ids))
            .order_by(ParentMeeting.held_at)
        ).scalars()
        if reach.sees("schedule", meeting.class_id, meeting.held_at.date())
    ]
    start_of_today = datetime.combine(today, time.min)
    return NewsPage(
        current=sorted(
            (n for n in notices if n.ends_on is None or n.ends_on >= today),
            key=lambda n: n.kind != "quarantine",
        ),
        past=[n for n in notices if n.ends_on is not None and n.ends_on < today][:PAST_NEWS_SHOWN],
        upcoming_meetings=[m for m in meetings if m.held_at >= start_of_today],
        past_meetings=[m for m in reversed(meetings) if m.held_at < start_of_today],
    )
