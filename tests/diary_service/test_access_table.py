"""The access table: every route of the diary, walked by every role, on school 1's
objects. A role the table does not allow gets a refusal (403, or 404 where a route hides
what exists; the signed-out visitor is sent to sign in); a role it allows is let through.
Routes the table does not know fail ``test_every_route_is_in_the_table``, so a new page
cannot ship without deciding who sees it.

Roles (tests/diary_service/factories.py): ``parent`` of Пётр (6А) and Алиса (9Б),
``parent2`` of Маша (6А), ``alisa`` the 9Б student herself, ``teacher`` (maths in 6А and
9Б, class teacher of 6А), ``teacher2`` (Russian in both), ``admin`` and ``nurse`` of
school 1, ``department``, ``nobody`` (signed in, no role), school 2's ``two_admin``,
``two_teacher`` and ``two_parent``, and Пётр's trusted persons (``add_trusted_people``):
``trusted`` (everything but messages), ``trusted_light`` (schedule and homework),
``trusted_full`` (everything), ``trusted_revoked``, ``trusted_pending`` (not open yet) and
``trusted_expired``, and ``parent_revoked``, whose parent link to Пётр the school revoked.

Roles whose right has ended (issue 11): Фёдор (``add_moved_student``) moved from school
1's 6А to school 2's 6А, so towards him ``teacher``, ``teacher2``, ``admin`` and
``nurse`` are school 1's staff after the transfer, ``history_teacher`` taught his 5А
last year, ``two_teacher`` and ``two_admin`` are his school's now and ``moved_parent``
is his parent. His pages open to the old school's staff on their own time with him
(what they show is tests/diary_service/test_access_spans.py's business); what acts on
him now (codes, writing to his parents, moving him, school 2's records) is refused
them. Posts carry the session's CSRF token and an empty form: this test is about who,
the forms' own tests are about what.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace

import pytest

from diary_service.extensions import db
from diary_service.models.answers import AnswerRequest
from diary_service.models.family import Application, Guardian
from diary_service.models.journal import (
    Attendance,
    FinalMark,
    Homework,
    HomeworkAttachment,
    Lesson,
    Mark,
)
from diary_service.models.messages import Message, Thread, ThreadParticipant
from diary_service.models.school import (
    Holiday,
    Notice,
    ParentMeeting,
    TeachingAssignment,
    TimetableChange,
)
from shared.sessions import utcnow
from tests.conftest import wipe
from tests.diary_service.factories import (
    World,
    add_moved_student,
    add_trusted_people,
    build_world,
    person,
    signed_in,
)

ROLES = (
    "anonymous",
    "nobody",
    "parent",
    "parent2",
    "alisa",
    "teacher",
    "teacher2",
    "admin",
    "nurse",
    "department",
    "two_admin",
    "two_teacher",
    "two_parent",
    "trusted",
    "trusted_light",
    "trusted_full",
    "trusted_revoked",
    "trusted_pending",
    "trusted_expired",
    "parent_revoked",
    "history_teacher",
    "moved_parent",
)
SIGNED_IN = frozenset(ROLES) - {"anonymous"}
STAFF = frozenset(
    {
        "teacher",
        "teacher2",
        "admin",
        "nurse",
        "department",
        "two_admin",
        "two_teacher",
        "history_teacher",
    }
)
REFUSED = (403, 404)


def last_weekday(day: date) -> date:
    while day.isoweekday() > 5:
        day -= timedelta(days=1)
    return day


def build_objects(world: World) -> SimpleNamespace:
    """One of each object the routes take, in school 1 (and a few in school 2)."""
    one, two = world.one, world.two
    add_trusted_people(world)
    cls = one.classes["6А"]
    math = world.subjects["math"]
    teacher = one.staff["teacher"]
    day = last_weekday(world.today)
    lesson = Lesson(
        class_id=cls.id,
        subject_id=math.id,
        teacher_id=teacher.id,
        on_date=day,
        lesson_number=1,
        topic="Дроби",
    )
    db.session.add(lesson)
    db.session.flush()
    homework = Homework(lesson_id=lesson.id, text="№ 12", due_on=day, updated_by_id=teacher.id)
    db.session.add(homework)
    db.session.flush()
    attachment = HomeworkAttachment(
        homework_id=homework.id,
        filename="task.txt",
        content_type="text/plain",
        size=3,
        data=b"abc",
    )
    petr, masha = one.students["petr"], one.students["masha"]
    mark = Mark(
        lesson_id=lesson.id,
        student_id=petr.id,
        value="5",
        kind="control",
        weight=5,
        author_id=teacher.id,
    )
    absence = Attendance(lesson_id=lesson.id, student_id=masha.id, code="н", author_id=teacher.id)
    final = FinalMark(
        student_id=petr.id,
        subject_id=math.id,
        year_id=one.year.id,
        period_id=one.periods[0].id,
        kind="period",
        value="5",
        author_id=teacher.id,
    )
    parent, parent2 = world.people["parent"], world.people["parent2"]
    direct = Thread(
        kind="direct",
        class_id=cls.id,
        student_id=petr.id,
        subject="Вопрос",
        created_by_id=parent.id,
    )
    direct.participants = [
        ThreadParticipant(person_id=parent.id),
        ThreadParticipant(person_id=world.people["teacher"].id),
    ]
    conversation = Thread(
        kind="class_parents", class_id=cls.id, subject="6А", created_by_id=parent2.id
    )
    db.session.add_all([attachment, mark, absence, final, direct, conversation])
    db.session.flush()
    chat = Message(thread_id=conversation.id, author_id=parent2.id, body="Кто завтра дежурит?")
    direct_message = Message(thread_id=direct.id, author_id=parent.id, body="Здравствуйте")
    notice = Notice(school_id=one.school.id, kind="news", title="Новости", starts_on=day)
    meeting = ParentMeeting(
        class_id=cls.id,
        held_at=datetime.combine(day, time(18, 0)),
        place="каб. 21",
        agenda="Итоги четверти",
    )
    change = TimetableChange(
        class_id=cls.id, on_date=day, lesson_number=2, kind="room_change", room="спортзал"
    )
    holiday = Holiday(
        year_id=one.year.id, name="Каникулы", starts_on=one.year.ends_on, ends_on=one.year.ends_on
    )
    db.session.add_all([chat, direct_message, notice, meeting, change, holiday])
    db.session.commit()
    guardian = db.session.execute(
        db.select(Guardian).filter_by(student_id=petr.id, person_id=parent.id)
    ).scalar_one()
    # A parent of Пётр whose link the school has revoked.
    revoked = world.people["parent_revoked"] = person("parent_revoked", "Иванов", "Сергей")
    db.session.flush()
    db.session.add(
        Guardian(
            student=petr,
            person_id=revoked.id,
            kind="parent",
            source="school",
            reason="test world: revoked",
            revoked_at=utcnow() - timedelta(days=1),
        )
    )
    db.session.commit()
    moved = add_moved_student(world)
    assignment = db.session.execute(
        db.select(TeachingAssignment).filter_by(class_id=cls.id, subject_id=math.id)
    ).scalar_one()
    return SimpleNamespace(
        school=one.school.id,
        two_school=two.school.id,
        year=one.year.id,
        period=one.periods[0].id,
        cls=cls.id,
        class_9b=one.classes["9Б"].id,
        math=math.id,
        lesson=lesson.id,
        day=day.isoformat(),
        attachment=attachment.id,
        mark=mark.id,
        absence=absence.id,
        final=final.id,
        direct=direct.id,
        chat=chat.id,
        petr=petr.id,
        alisa=one.students["alisa"].id,
        guardian=guardian.id,
        teacher2=one.staff["teacher2"].id,
        assignment=assignment.id,
        bell=one.school.bells[0].id,
        holiday=holiday.id,
        change=change.id,
        notice=notice.id,
        meeting=meeting.id,
        two_student=two.students["petr"].id,
        two_class=two.classes["6А"].id,
        two_staff=two.staff["teacher2"].id,
        moved=moved,
        fedor=moved.student.id if moved else None,
    )


@dataclass(frozen=True)
class Route:
    endpoint: str
    method: str
    url: Callable[[SimpleNamespace], str]
    allowed: frozenset[str]
    data: dict = field(default_factory=dict)
    about: str = ""  # which object, when the endpoint has several rows

    @property
    def id(self) -> str:
        return f"{self.method} {self.endpoint}{' ' + self.about if self.about else ''}"

    @property
    def moved(self) -> bool:
        """A row about Фёдор, who exists once the year is old enough for his transfer."""
        return self.about.startswith("moved")


def r(endpoint, method, url, allowed, about: str = "", **data) -> Route:
    return Route(endpoint, method, url, frozenset(allowed), data, about)


PETR_FAMILY_AND_STAFF = {"parent", "teacher", "teacher2", "admin"}
# Пётр's trusted persons whose grant is open and gives the section; the revoked, the not
# yet open and the expired one see nothing.
PETR_TRUSTED = {
    "schedule": {"trusted", "trusted_light", "trusted_full"},
    "homework": {"trusted", "trusted_light", "trusted_full"},
    "marks": {"trusted", "trusted_full"},
    "attendance": {"trusted", "trusted_full"},
    "messages": {"trusted_full"},
}
CLASS_6A_JOURNAL = {"teacher", "admin"}
SCHOOL_ADMIN = {"admin"}

TABLE = [
    # --- the family's pages (Пётр, 6А) ---
    r("family.index", "GET", lambda o: "/students/", SIGNED_IN),
    r(
        "family.week",
        "GET",
        lambda o: f"/students/{o.petr}/week",
        PETR_FAMILY_AND_STAFF | PETR_TRUSTED["schedule"],
    ),
    r(
        "family.week_print",
        "GET",
        lambda o: f"/students/{o.petr}/week/print",
        PETR_FAMILY_AND_STAFF | PETR_TRUSTED["schedule"],
    ),
    r(
        "family.marks",
        "GET",
        lambda o: f"/students/{o.petr}/marks",
        PETR_FAMILY_AND_STAFF | PETR_TRUSTED["marks"],
    ),
    r(
        "family.attendance",
        "GET",
        lambda o: f"/students/{o.petr}/attendance",
        PETR_FAMILY_AND_STAFF | {"nurse"} | PETR_TRUSTED["attendance"],
    ),
    r(
        "family.news",
        "GET",
        lambda o: f"/students/{o.petr}/news",
        PETR_FAMILY_AND_STAFF | PETR_TRUSTED["schedule"],
    ),
    r("family.access_log", "GET", lambda o: f"/students/{o.petr}/access-log", {"parent"}),
    r("family.acknowledge", "POST", lambda o: f"/students/{o.petr}/acknowledge", {"parent"}),
    r(
        "family.acknowledgements",
        "GET",
        lambda o: f"/classes/{o.cls}/acknowledgements",
        {"teacher", "admin"},
    ),
    # --- access codes and staff invitations (6А, Пётр, school 1) ---
    r("family.enter_code", "GET", lambda o: "/codes/enter", SIGNED_IN),
    r("family.enter_code", "POST", lambda o: "/codes/enter", SIGNED_IN),
    r("family.codes", "GET", lambda o: "/codes/", {"teacher", "admin", "two_admin", "two_teacher"}),
    r("family.class_codes", "GET", lambda o: f"/codes/classes/{o.cls}", {"teacher", "admin"}),
    r(
        "family.issue_class_codes",
        "POST",
        lambda o: f"/codes/classes/{o.cls}",
        {"teacher", "admin"},
    ),
    r(
        "family.issue_student_code",
        "POST",
        lambda o: f"/codes/students/{o.petr}",
        {"teacher", "admin"},
    ),
    r(
        "family.revoke_code",
        "POST",
        lambda o: f"/codes/students/{o.petr}/slots/1/revoke",
        {"teacher", "admin"},
    ),
    r("family.staff_codes", "GET", lambda o: f"/codes/schools/{o.school}/staff", SCHOOL_ADMIN),
    r("family.invite_staff", "POST", lambda o: f"/codes/staff/{o.teacher2}", SCHOOL_ADMIN),
    # --- the journal (6А, maths) ---
    r("journal.index", "GET", lambda o: "/journal/", STAFF),
    r("journal.grid", "GET", lambda o: f"/journal/{o.cls}/{o.math}", CLASS_6A_JOURNAL),
    r(
        "journal.plan_lesson",
        "GET",
        lambda o: f"/journal/{o.cls}/{o.math}/on/{o.day}/1",
        CLASS_6A_JOURNAL,
    ),
    # Opening the slot's lesson (creating its row) is a POST: its teacher only.
    r(
        "journal.open_lesson",
        "POST",
        lambda o: f"/journal/{o.cls}/{o.math}/on/{o.day}/1",
        {"teacher"},
    ),
    r("journal.lesson", "GET", lambda o: f"/journal/lessons/{o.lesson}", CLASS_6A_JOURNAL),
    r("journal.save_lesson", "POST", lambda o: f"/journal/lessons/{o.lesson}", {"teacher"}),
    r("journal.save_marks", "POST", lambda o: f"/journal/lessons/{o.lesson}/marks", {"teacher"}),
    r("journal.add_remark", "POST", lambda o: f"/journal/lessons/{o.lesson}/remarks", {"teacher"}),
    r(
        "journal.attachment",
        "GET",
        lambda o: f"/journal/attachments/{o.attachment}",
        {"parent", "parent2", "teacher", "admin"} | PETR_TRUSTED["homework"],
    ),
    r(
        "journal.delete_attachment",
        "POST",
        lambda o: f"/journal/attachments/{o.attachment}/delete",
        {"teacher"},
    ),
    r(
        "journal.mark_history",
        "GET",
        lambda o: f"/journal/marks/{o.mark}/history",
        {"parent", "teacher", "admin"} | PETR_TRUSTED["marks"],
    ),
    r(
        "journal.attendance_history",
        "GET",
        lambda o: f"/journal/attendance/{o.absence}/history",
        {"parent2", "teacher", "teacher2", "admin", "nurse"},
    ),
    r(
        "journal.final_mark_history",
        "GET",
        lambda o: f"/journal/final-marks/{o.final}/history",
        {"parent", "teacher", "admin"} | PETR_TRUSTED["marks"],
    ),
    r("journal.final_marks", "GET", lambda o: f"/journal/{o.cls}/{o.math}/final", CLASS_6A_JOURNAL),
    r(
        "journal.final_marks",
        "POST",
        lambda o: f"/journal/{o.cls}/{o.math}/final",
        CLASS_6A_JOURNAL,
    ),
    # --- messages ---
    r("messages.index", "GET", lambda o: "/messages/", SIGNED_IN),
    r("messages.new", "GET", lambda o: "/messages/new", SIGNED_IN),
    r(
        "messages.new",
        "POST",
        lambda o: f"/messages/new?student={o.petr}",
        {"parent", "teacher", "teacher2", "admin"} | PETR_TRUSTED["messages"],
    ),
    r("messages.settings", "GET", lambda o: "/messages/settings", SIGNED_IN),
    # A trusted person sets the notifications of what their grant shows.
    r(
        "messages.save_settings",
        "POST",
        lambda o: f"/messages/settings/{o.petr}",
        {"parent"} | PETR_TRUSTED["homework"],
    ),
    r("messages.thread", "GET", lambda o: f"/messages/{o.direct}", {"parent", "teacher"}),
    r("messages.reply", "POST", lambda o: f"/messages/{o.direct}", {"parent", "teacher"}),
    r("messages.mark_read", "POST", lambda o: f"/messages/{o.direct}/read", {"parent", "teacher"}),
    r(
        "messages.announce",
        "GET",
        lambda o: f"/messages/classes/{o.cls}/announce",
        {"teacher", "admin"},
    ),
    r(
        "messages.announce",
        "POST",
        lambda o: f"/messages/classes/{o.cls}/announce",
        {"teacher", "admin"},
    ),
    r(
        "messages.class_parents",
        "GET",
        lambda o: f"/messages/classes/{o.cls}/parents",
        {"parent", "parent2", "teacher", "admin"},
    ),
    r(
        "messages.class_parents",
        "POST",
        lambda o: f"/messages/classes/{o.cls}/parents",
        {"parent", "parent2"},
    ),
    r("messages.hide", "POST", lambda o: f"/messages/hide/{o.chat}", {"teacher", "admin"}),
    r("messages.restore", "POST", lambda o: f"/messages/restore/{o.chat}", {"teacher", "admin"}),
    # --- reports ---
    r("reports.index", "GET", lambda o: "/reports/", SIGNED_IN),
    r(
        "reports.class_report",
        "GET",
        lambda o: f"/reports/classes/{o.cls}",
        {"teacher", "teacher2", "admin"},
    ),
    r(
        "reports.class_export",
        "GET",
        lambda o: f"/reports/classes/{o.cls}.csv",
        {"teacher", "teacher2", "admin"},
    ),
    r(
        "reports.class_print",
        "GET",
        lambda o: f"/reports/classes/{o.cls}/{o.math}/print",
        {"teacher", "teacher2", "admin"},
    ),
    r(
        "reports.school_report",
        "GET",
        lambda o: f"/reports/schools/{o.school}",
        {"admin", "department"},
    ),
    r(
        "reports.school_export",
        "GET",
        lambda o: f"/reports/schools/{o.school}.xlsx",
        {"admin", "department"},
    ),
    r("reports.region", "GET", lambda o: "/reports/region", {"department"}),
    r("reports.region_export", "GET", lambda o: "/reports/region.csv", {"department"}),
    r(
        "reports.student_rating",
        "GET",
        lambda o: f"/reports/students/{o.petr}/rating",
        PETR_FAMILY_AND_STAFF | PETR_TRUSTED["marks"],
    ),
    # --- the school's administration (school 1) ---
    r("school.index", "GET", lambda o: "/school/", {"admin", "nurse", "department", "two_admin"}),
    r("school.region", "GET", lambda o: "/school/region", {"department"}),
    r("school.add_municipality", "POST", lambda o: "/school/region/municipalities", {"department"}),
    r("school.add_school", "POST", lambda o: "/school/region/schools", {"department"}),
    r("school.add_region_subject", "POST", lambda o: "/school/region/subjects", {"department"}),
    r("school.dashboard", "GET", lambda o: f"/school/{o.school}/", SCHOOL_ADMIN),
    r("school.attendance", "GET", lambda o: f"/school/{o.school}/attendance", {"admin", "nurse"}),
]
S = "/school/{o.school}"
for endpoint, method, path in [
    ("school.classes", "GET", "/classes"),
    ("school.classes", "POST", "/classes"),
    ("school.class_detail", "GET", "/classes/{o.cls}"),
    ("school.class_teacher", "POST", "/classes/{o.cls}/teacher"),
    ("school.timetable", "GET", "/classes/{o.cls}/timetable"),
    ("school.timetable", "POST", "/classes/{o.cls}/timetable"),
    ("school.students", "GET", "/students"),
    ("school.students", "POST", "/students"),
    ("school.student", "GET", "/students/{o.petr}"),
    ("school.transfer_student", "POST", "/students/{o.petr}/transfer"),
    ("school.leave_student", "POST", "/students/{o.petr}/leave"),
    ("school.link_guardian", "POST", "/students/{o.petr}/guardians"),
    ("school.revoke_guardian", "POST", "/guardians/{o.guardian}/revoke"),
    ("school.staff", "GET", "/staff"),
    ("school.staff", "POST", "/staff"),
    ("school.staff_roles", "POST", "/staff/{o.teacher2}/roles"),
    ("school.deactivate_staff", "POST", "/staff/{o.teacher2}/deactivate"),
    ("school.reactivate_staff", "POST", "/staff/{o.teacher2}/reactivate"),
    ("school.assignments", "GET", "/assignments"),
    ("school.add_assignment", "POST", "/assignments"),
    ("school.remove_assignment", "POST", "/assignments/{o.assignment}/remove"),
    ("school.add_subject", "POST", "/subjects"),
    ("school.bells", "GET", "/bells"),
    ("school.bells", "POST", "/bells"),
    ("school.remove_bell", "POST", "/bells/{o.bell}/remove"),
    ("school.years", "GET", "/years"),
    ("school.years", "POST", "/years"),
    ("school.year", "GET", "/years/{o.year}"),
    ("school.add_period", "POST", "/years/{o.year}/periods"),
    ("school.remove_period", "POST", "/periods/{o.period}/remove"),
    ("school.add_holiday", "POST", "/years/{o.year}/holidays"),
    ("school.remove_holiday", "POST", "/holidays/{o.holiday}/remove"),
    ("school.changes", "GET", "/changes"),
    ("school.changes", "POST", "/changes"),
    ("school.remove_change", "POST", "/changes/{o.change}/remove"),
    ("school.notices", "GET", "/notices"),
    ("school.notices", "POST", "/notices"),
    ("school.remove_notice", "POST", "/notices/{o.notice}/remove"),
    ("school.meetings", "GET", "/meetings"),
    ("school.meetings", "POST", "/meetings"),
    ("school.remove_meeting", "POST", "/meetings/{o.meeting}/remove"),
    ("school.policy", "GET", "/policy"),
    ("school.policy", "POST", "/policy"),
    ("school.rating", "POST", "/rating"),
    ("school.roster_import", "GET", "/import"),
    ("school.roster_import", "POST", "/import"),
    ("school.roster_template", "GET", "/import/students.csv"),
]:
    TABLE.append(r(endpoint, method, (lambda p: lambda o: (S + p).format(o=o))(path), SCHOOL_ADMIN))


# --- signed answers (a request to the parents of 6А) ---
def answer_request_of(o: SimpleNamespace) -> int:
    """The request the answers rows use, made on first use (one per test's objects)."""
    if not hasattr(o, "answer_request"):
        ask = AnswerRequest(
            class_id=o.cls, title="Экскурсия", options=["Да", "Нет"], deadline=date.max
        )
        db.session.add(ask)
        db.session.commit()
        o.answer_request = ask.id
    return o.answer_request


ANSWER_REQUEST_READERS = {"parent", "parent2", "teacher", "admin"}
TABLE += [
    r("answers.index", "GET", lambda o: "/answers/", SIGNED_IN),
    r(
        "answers.new_request",
        "GET",
        lambda o: f"/answers/classes/{o.cls}/new",
        {"teacher", "admin"},
    ),
    r(
        "answers.new_request",
        "POST",
        lambda o: f"/answers/classes/{o.cls}/new",
        {"teacher", "admin"},
    ),
    r(
        "answers.results",
        "GET",
        lambda o: f"/answers/requests/{answer_request_of(o)}/results",
        {"teacher", "admin"},
    ),
    r(
        "answers.show",
        "GET",
        lambda o: f"/answers/requests/{answer_request_of(o)}",
        ANSWER_REQUEST_READERS,
    ),
    r(
        "answers.answer",
        "POST",
        lambda o: f"/answers/requests/{answer_request_of(o)}",
        ANSWER_REQUEST_READERS,
    ),
    r(
        "answers.signed",
        "GET",
        lambda o: f"/answers/requests/{answer_request_of(o)}/signed",
        ANSWER_REQUEST_READERS,
    ),
]


# --- service applications from the portal (one for school 1, new) ---
def application_of(o: SimpleNamespace) -> int:
    """The application the rows use, made on first use (one per test's objects)."""
    if not hasattr(o, "application"):
        application = Application(
            portal_id=str(uuid.uuid4()),
            school_id=o.school,
            submitted_at=datetime(2026, 12, 3, 9, 0),
            applicant_sub="sub-applicant",
            applicant_family_name="Иванов",
            applicant_given_name="Сергей",
            applicant_snils_index="0" * 64,
            child_portal_id="portal-child",
            child_family_name="Иванов",
            child_given_name="Пётр",
            child_birth_date=date(2014, 9, 2),
            child_gender="male",
            deadline=date(2026, 12, 8),
        )
        db.session.add(application)
        db.session.commit()
        o.application = application.id
    return o.application


TABLE += [
    r("applications.index", "GET", lambda o: "/applications/", {"admin", "two_admin"}),
    r(
        "applications.school_list",
        "GET",
        lambda o: f"/school/{o.school}/applications",
        SCHOOL_ADMIN,
    ),
    r("applications.detail", "GET", lambda o: f"/applications/{application_of(o)}", SCHOOL_ADMIN),
    r(
        "applications.take",
        "POST",
        lambda o: f"/applications/{application_of(o)}/take",
        SCHOOL_ADMIN,
    ),
    r(
        "applications.approve",
        "POST",
        lambda o: f"/applications/{application_of(o)}/approve",
        SCHOOL_ADMIN,
    ),
    r(
        "applications.refuse",
        "POST",
        lambda o: f"/applications/{application_of(o)}/refuse",
        SCHOOL_ADMIN,
    ),
]

# --- Фёдор, who moved from school 1 to school 2 (roles whose right has ended) ---
MOVED_FAMILY = {"moved_parent"}
OLD_SCHOOL = {"teacher", "teacher2", "admin"}  # school 1's staff, after his transfer
NEW_SCHOOL = {"two_teacher", "two_admin"}
LAST_YEAR = {"history_teacher"}
MOVED_RECORD = MOVED_FAMILY | OLD_SCHOOL | NEW_SCHOOL | LAST_YEAR


def moved_row(endpoint, method, url, allowed, what: str = "") -> Route:
    return r(endpoint, method, url, allowed, about=f"moved {what}".strip())


def moved_id(name: str) -> Callable[[SimpleNamespace], int]:
    """The id of one of Фёдор's rows: ``pre.mark``, ``post.final``, ``old.mark``…"""
    kind, row = name.split(".")
    return lambda o: getattr(o.moved, kind)[row].id


TABLE += [
    moved_row("family.week", "GET", lambda o: f"/students/{o.fedor}/week", MOVED_RECORD),
    moved_row(
        "family.week_print", "GET", lambda o: f"/students/{o.fedor}/week/print", MOVED_RECORD
    ),
    moved_row("family.marks", "GET", lambda o: f"/students/{o.fedor}/marks", MOVED_RECORD),
    moved_row(
        "family.attendance",
        "GET",
        lambda o: f"/students/{o.fedor}/attendance",
        MOVED_RECORD | {"nurse"},
    ),
    moved_row("family.news", "GET", lambda o: f"/students/{o.fedor}/news", MOVED_RECORD),
    moved_row(
        "family.access_log", "GET", lambda o: f"/students/{o.fedor}/access-log", MOVED_FAMILY
    ),
    moved_row(
        "family.acknowledge", "POST", lambda o: f"/students/{o.fedor}/acknowledge", MOVED_FAMILY
    ),
    moved_row(
        "reports.student_rating",
        "GET",
        lambda o: f"/reports/students/{o.fedor}/rating",
        MOVED_RECORD,
    ),
    # Acting on him now is his school's now.
    moved_row(
        "family.issue_student_code", "POST", lambda o: f"/codes/students/{o.fedor}", NEW_SCHOOL
    ),
    moved_row(
        "family.revoke_code",
        "POST",
        lambda o: f"/codes/students/{o.fedor}/slots/1/revoke",
        NEW_SCHOOL,
    ),
    moved_row(
        "messages.new",
        "POST",
        lambda o: f"/messages/new?student={o.fedor}",
        MOVED_FAMILY | NEW_SCHOOL,
    ),
    # The record card: the old school's as it stood when he left, the new school's.
    moved_row(
        "school.student",
        "GET",
        lambda o: f"/school/{o.school}/students/{o.fedor}",
        {"admin"},
        "at school 1",
    ),
    moved_row(
        "school.student",
        "GET",
        lambda o: f"/school/{o.two_school}/students/{o.fedor}",
        {"two_admin"},
        "at school 2",
    ),
    moved_row(
        "school.transfer_student",
        "POST",
        lambda o: f"/school/{o.school}/students/{o.fedor}/transfer",
        set(),
        "at school 1",
    ),
    moved_row(
        "school.transfer_student",
        "POST",
        lambda o: f"/school/{o.two_school}/students/{o.fedor}/transfer",
        {"two_admin"},
        "at school 2",
    ),
    moved_row(
        "school.link_guardian",
        "POST",
        lambda o: f"/school/{o.school}/students/{o.fedor}/guardians",
        set(),
        "at school 1",
    ),
    # Records: each school's staff reach their own school's, last year's teacher last
    # year's.
    moved_row(
        "journal.mark_history",
        "GET",
        lambda o: f"/journal/marks/{moved_id('pre.mark')(o)}/history",
        MOVED_FAMILY | {"teacher", "admin"},
        "before",
    ),
    moved_row(
        "journal.mark_history",
        "GET",
        lambda o: f"/journal/marks/{moved_id('post.mark')(o)}/history",
        MOVED_FAMILY | NEW_SCHOOL,
        "after",
    ),
    moved_row(
        "journal.mark_history",
        "GET",
        lambda o: f"/journal/marks/{moved_id('old.mark')(o)}/history",
        MOVED_FAMILY | LAST_YEAR | {"admin"},
        "last year",
    ),
    moved_row(
        "journal.attendance_history",
        "GET",
        lambda o: f"/journal/attendance/{moved_id('pre.absence')(o)}/history",
        MOVED_FAMILY | OLD_SCHOOL | {"nurse"},
        "before",
    ),
    moved_row(
        "journal.attendance_history",
        "GET",
        lambda o: f"/journal/attendance/{moved_id('post.absence')(o)}/history",
        MOVED_FAMILY | NEW_SCHOOL,
        "after",
    ),
    moved_row(
        "journal.final_mark_history",
        "GET",
        lambda o: f"/journal/final-marks/{moved_id('post.final')(o)}/history",
        MOVED_FAMILY | NEW_SCHOOL,
        "after",
    ),
    moved_row(
        "journal.attachment",
        "GET",
        lambda o: f"/journal/attachments/{moved_id('post.attachment')(o)}",
        MOVED_FAMILY | NEW_SCHOOL | {"two_parent"},
        "after",
    ),
    moved_row(
        "journal.attachment",
        "GET",
        lambda o: f"/journal/attachments/{moved_id('pre.attachment')(o)}",
        MOVED_FAMILY | {"teacher", "admin", "parent", "parent2"} | PETR_TRUSTED["homework"],
        "before",
    ),
]

# Not about a role: the frame's own routes, open to everyone or only to the portal.
FRAME = {
    "home.index",
    "auth.login",
    "auth.callback",
    "auth.logout",
    "auth.backchannel_logout",
    # Server to server: the portal's signed messages (tests/shared/test_federation_messages.py)
    # and the public school directory its application form lists.
    "federation.events",
    "federation.schools",
    "health.healthz",
    "health.readyz",
    # Loopback and configured networks only (tests/shared/test_observability.py).
    "metrics.export",
    "i18n.switch_language",
    "static",
    "shared.static",
}


def test_every_route_is_in_the_table(diary):
    covered = {(route.endpoint, route.method) for route in TABLE}
    missing = sorted(
        (rule.endpoint, method, rule.rule)
        for rule in diary.url_map.iter_rules()
        if rule.endpoint not in FRAME
        # The JSON API authenticates by bearer token, not by session: its own access
        # table is in tests/diary_service/test_api.py.
        and not rule.endpoint.startswith("api.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
        if (rule.endpoint, method) not in covered
    )
    assert missing == [], "routes without a row in the access table"


def csrf_client(app, person) -> tuple:
    """A test client signed in as ``person`` (None: signed out) with its session's CSRF
    token, read from the sign-out form every page has (a 404 page is the cheapest): a
    refusal must come from the rules, not from CSRF."""
    client = signed_in(app, person)
    token = ""
    if person is not None:
        html = client.get("/no-such-page").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    return client, token


def request(client_and_token, route: Route, objects):
    client, token = client_and_token
    url = route.url(objects)
    if route.method == "GET":
        return client.get(url)
    return client.post(url, data={"csrf_token": token, **route.data})


def check_route(route: Route, objects: SimpleNamespace, clients: Callable[[str], tuple]) -> None:
    """Every role asks ``route``: each gets what the table says."""
    if route.moved and objects.moved is None:
        pytest.skip("the academic year has only begun: no transfer lies in the past yet")
    outcomes = {}
    # Refusals first: an allowed POST may change the objects the others are refused on.
    for role in sorted(ROLES, key=lambda role: role in route.allowed):
        response = request(clients(role), route, objects)
        location = response.headers.get("Location", "")
        if role == "anonymous":
            # Sent to sign in; a post is refused before that by CSRF (no session, no token).
            kept_out = "/auth/login" in location or (
                route.method == "POST" and response.status_code == 400
            )
            outcomes[role] = "sign-in" if kept_out else response.status_code
        elif role in route.allowed:
            # Let through: the page, a redirect, or the form's own complaint about the
            # (empty) input; never a refusal or a crash.
            status = response.status_code
            ok = status < 500 and status not in (401, *REFUSED) and "/auth/login" not in location
            outcomes[role] = "ok" if ok else response.status_code
        else:
            outcomes[role] = (
                "refused" if response.status_code in REFUSED else (response.status_code)
            )
    expected = {
        role: "sign-in" if role == "anonymous" else "ok" if role in route.allowed else "refused"
        for role in ROLES
    }
    wrong = {role: outcomes[role] for role in ROLES if outcomes[role] != expected[role]}
    assert wrong == {}, f"expected {sorted(route.allowed)}, got {outcomes}"


# A school's administrator reaching into another school through their own school's URLs.
CROSS = [
    "/school/{o.school}/students/{o.two_student}",
    "/school/{o.school}/classes/{o.two_class}",
    "/school/{o.school}/classes/{o.two_class}/timetable",
    "/school/{o.two_school}/",
    "/reports/classes/{o.two_class}",
    "/journal/{o.two_class}/{o.math}",
    "/students/{o.two_student}/week",
    "/codes/classes/{o.two_class}",
    "/codes/schools/{o.two_school}/staff",
    "/school/{o.two_school}/applications",
]
CROSS_POST = [
    "/school/{o.school}/students/{o.two_student}/transfer",
    "/school/{o.school}/students/{o.two_student}/leave",
    "/school/{o.school}/students/{o.two_student}/guardians",
    "/school/{o.school}/staff/{o.two_staff}/deactivate",
    "/school/{o.school}/classes/{o.two_class}/teacher",
    "/codes/classes/{o.two_class}",
    "/codes/students/{o.two_student}",
    "/codes/students/{o.two_student}/slots/1/revoke",
    "/codes/staff/{o.two_staff}",
]


# --- the GET rows: one world for them all -----------------------------------------------
# A GET changes nothing (tests/diary_service/test_get_never_writes.py), so the GET rows
# share one world and one signed-in client per role; the POST rows, which may change
# what the next one finds, each get a fresh world (test_access_table_posts.py).


@pytest.fixture(scope="module")
def shared_world(diary_app) -> Iterator[SimpleNamespace]:
    with diary_app.app_context():
        world = build_world()
        objects = build_objects(world)
        db.session.commit()
        made = {}

        def client_of(role: str) -> tuple:
            if role not in made:
                who = None if role == "anonymous" else world.people[role]
                made[role] = csrf_client(diary_app, who)
            return made[role]

        yield SimpleNamespace(objects=objects, clients=client_of)
        db.session.remove()
        wipe(db)


@pytest.mark.parametrize(
    "route", [route for route in TABLE if route.method == "GET"], ids=lambda route: route.id
)
def test_every_role_gets_what_the_table_says(route, shared_world):
    check_route(route, shared_world.objects, shared_world.clients)


@pytest.mark.parametrize("path", CROSS)
def test_an_administrator_cannot_read_another_schools_objects(path, shared_world):
    client, _token = shared_world.clients("admin")
    assert client.get(path.format(o=shared_world.objects)).status_code in REFUSED
