"""Rules of the school room: the region's structure, a school's years and periods,
classes, staff, students and their enrolments, who teaches what, the bell schedule, the
weekly timetable and its dated changes, notices, parent meetings, guardian links, the
mark policy and the health worker's view of absences.

Functions take plain values (ids, dates, strings), check the rules, write in one
transaction and commit, or raise a ``shared.errors`` error and write nothing. Who may
call them is the views' business (``diary_service.access``); the ``can_*`` predicates
the access module lacks live here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from diary_service import signals
from diary_service.access import Viewer
from diary_service.auth.models import DiaryPerson
from diary_service.auth.services import snils_index
from diary_service.extensions import db
from diary_service.family.models import Guardian
from diary_service.journal.models import Attendance, FinalMark, Lesson, MarkPolicy
from diary_service.school.models import (
    NOTICE_KINDS,
    PERIOD_KINDS,
    TIMETABLE_CHANGE_KINDS,
    WEEKDAYS,
    AcademicYear,
    Bell,
    Enrolment,
    Holiday,
    Municipality,
    Notice,
    ParentMeeting,
    Period,
    School,
    SchoolClass,
    StaffMember,
    StaffRole,
    Student,
    Subject,
    TeachingAssignment,
    TimetableChange,
    TimetableEntry,
)
from diary_service.school.policy import DEFAULT_THRESHOLDS, DEFAULT_WEIGHTS, validate_rule
from diary_service.school.timetable import is_holiday
from shared.errors import NotFound, ValidationError
from shared.sessions import utcnow
from shared.validators import ascii_digits, normalize_snils

# Roles a school gives its own staff; ``department`` belongs to the region, not a school.
SCHOOL_ROLES = ("teacher", "class_teacher", "school_admin", "health_worker")
TEACHING_ROLES = ("teacher", "class_teacher")
# How many periods each kind divides a year into.
PERIODS_PER_YEAR = {"quarter": 4, "trimester": 3, "semester": 2}
MAX_GRADE = 11
MAX_LESSONS = 12
LETTER_CHARS = "АБВГДЕЁЖЗИКЛМНОПРСТУФХЦЧШЩЭЮЯ"

SNILS_MESSAGES = {
    "snils_format": _l("Enter the SNILS as 11 digits, for example 112-233-445 95."),
    "snils_checksum": _l("The SNILS check digits do not match: check the number."),
}

M = TypeVar("M")


class FormErrors(ValidationError):
    """What is wrong, by the input it concerns (a form field's name, ``""`` for the
    input as a whole). ``message`` is the first of them."""

    def __init__(self, errors: Mapping[str, Iterable[Any]]) -> None:
        self.errors = {name: list(messages) for name, messages in errors.items() if messages}
        first = next(iter(self.errors.values()))[0]
        super().__init__(first)


def invalid(field: str, message: Any) -> FormErrors:
    return FormErrors({field: [message]})


# --- the schools a viewer works in ----------------------------------------------------------


def schools_for(viewer: Viewer) -> list[tuple[School, bool, bool]]:
    """The schools the viewer works in as administrator or health worker:
    ``(school, administers, health_worker)`` by name."""
    ids = viewer.school_admin_of | viewer.health_worker_of
    if not ids:
        return []
    schools = db.session.execute(
        sa.select(School).where(School.id.in_(ids)).order_by(School.name)
    ).scalars()
    return [
        (school, school.id in viewer.school_admin_of, school.id in viewer.health_worker_of)
        for school in schools
    ]


# --- looking things up ------------------------------------------------------------------


def get(model: type[M], object_id: int) -> M:
    """The row, or ``NotFound``."""
    found = db.session.get(model, object_id)
    if found is None:
        raise NotFound()
    return found


def get_school(school_id: int) -> School:
    return get(School, school_id)


def school_of(obj: Any) -> int | None:
    """The school a row of this room belongs to."""
    if isinstance(obj, School):
        return obj.id
    if isinstance(obj, SchoolClass | StaffMember | Bell | AcademicYear | Notice):
        return obj.school_id
    if isinstance(obj, Period | Holiday):
        return obj.year.school_id
    if isinstance(obj, TeachingAssignment | TimetableChange | ParentMeeting):
        return obj.school_class.school_id
    if isinstance(obj, Guardian):
        return obj.student.school_id
    if isinstance(obj, MarkPolicy):
        return obj.school_id
    raise TypeError(type(obj).__name__)


def belongs_to(obj: Any, school_id: int) -> bool:
    """Is the row the school's? A student is, while enrolled there or once was (the
    school keeps reading the history of those who transferred or left)."""
    if isinstance(obj, Student):
        return obj.school_id == school_id or school_id in schools_of_student(obj.id)
    return school_of(obj) == school_id


def schools_of_student(student_id: int) -> set[int]:
    return set(
        db.session.execute(
            sa.select(SchoolClass.school_id)
            .join(Enrolment, Enrolment.class_id == SchoolClass.id)
            .where(Enrolment.student_id == student_id)
        ).scalars()
    )


def index_of_snils(snils: str, field: str = "snils") -> str:
    """The blind index of a SNILS as staff typed it; ``FormErrors`` on ``field`` if it is
    not a SNILS. The number itself is never kept."""
    try:
        normalize_snils(snils)
    except ValueError as exc:
        raise invalid(field, SNILS_MESSAGES.get(str(exc), SNILS_MESSAGES["snils_format"])) from exc
    return snils_index(snils, current_app.config["BLIND_INDEX_KEY"])


def person_with_snils(index: str) -> DiaryPerson | None:
    """The signed-in person whose verified SNILS has this blind index, if any."""
    return db.session.execute(
        sa.select(DiaryPerson).where(DiaryPerson.snils_index == index).limit(1)
    ).scalar_one_or_none()


def commit() -> None:
    """Commit; a unique constraint someone else reached first is a validation error."""
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise invalid(
            "", _l("Someone has just saved the same data. Reload the page and check.")
        ) from exc


def _clean(text: str | None) -> str:
    return (text or "").strip()


def _named(names: sa.Select, name: str) -> bool:
    """Is ``name`` among the names, ignoring case? Compared here, not in SQL: SQLite's
    lower() folds only ASCII, and these lists are short (a region's municipalities,
    subjects, a municipality's schools)."""
    wanted = name.casefold()
    return any(other.casefold() == wanted for other in db.session.execute(names).scalars())


# --- the region -----------------------------------------------------------------------


def municipalities() -> list[Municipality]:
    return list(db.session.execute(sa.select(Municipality).order_by(Municipality.name)).scalars())


def subjects() -> list[Subject]:
    return list(db.session.execute(sa.select(Subject).order_by(Subject.name)).scalars())


def add_municipality(name: str) -> Municipality:
    name = _clean(name)
    if _named(sa.select(Municipality.name), name):
        raise invalid("name", _l("The region already has a municipality with this name."))
    municipality = Municipality(name=name)
    db.session.add(municipality)
    commit()
    return municipality


def add_school(municipality_id: int, name: str, short_name: str, address: str = "") -> School:
    """A new school of the region, with the default mark policy as its version 1."""
    if db.session.get(Municipality, municipality_id) is None:
        raise invalid("municipality_id", _l("Choose a municipality from the list."))
    name = _clean(name)
    if _named(sa.select(School.name).where(School.municipality_id == municipality_id), name):
        raise invalid("name", _l("The municipality already has a school with this name."))
    school = School(
        municipality_id=municipality_id,
        name=name,
        short_name=_clean(short_name) or name,
        address=_clean(address),
    )
    db.session.add(school)
    db.session.flush()
    db.session.add(
        MarkPolicy(
            school_id=school.id,
            version=1,
            weights=dict(DEFAULT_WEIGHTS),
            thresholds=dict(DEFAULT_THRESHOLDS),
        )
    )
    commit()
    return school


def add_subject(name: str, short_name: str = "") -> Subject:
    """A subject of the region's curriculum (shared by all its schools)."""
    name = _clean(name)
    if _named(sa.select(Subject.name), name):
        raise invalid("name", _l("The region already has this subject."))
    subject = Subject(name=name, short_name=_clean(short_name))
    db.session.add(subject)
    commit()
    return subject


# --- academic years, periods, holidays ------------------------------------------------


def years_of(school_id: int) -> list[AcademicYear]:
    return list(
        db.session.execute(
            sa.select(AcademicYear)
            .where(AcademicYear.school_id == school_id)
            .order_by(AcademicYear.starts_on.desc())
        ).scalars()
    )


def current_year(school_id: int, on: date | None = None) -> AcademicYear | None:
    """The school's year containing ``on`` (today), else the next to begin, else the
    last one."""
    on = on or date.today()
    years = sorted(years_of(school_id), key=lambda year: year.starts_on)
    for year in years:
        if year.starts_on <= on <= year.ends_on:
            return year
    upcoming = [year for year in years if year.starts_on > on]
    if upcoming:
        return upcoming[0]
    return years[-1] if years else None


def create_year(
    school_id: int, name: str, starts_on: date, ends_on: date, period_kind: str
) -> AcademicYear:
    if period_kind not in PERIOD_KINDS:
        raise invalid("period_kind", _l("Choose how the year is divided."))
    if ends_on <= starts_on:
        raise invalid("ends_on", _l("The end must come after the start."))
    if ends_on - starts_on > timedelta(days=366):
        raise invalid("ends_on", _l("An academic year lasts at most a year."))
    for other in years_of(school_id):
        if other.starts_on <= ends_on and starts_on <= other.ends_on:
            raise invalid(
                "starts_on",
                _l("The dates overlap the academic year %(name)s.", name=other.name),
            )
    year = AcademicYear(
        school_id=school_id,
        name=_clean(name) or f"{starts_on.year}/{ends_on.year}",
        starts_on=starts_on,
        ends_on=ends_on,
        period_kind=period_kind,
    )
    db.session.add(year)
    commit()
    return year


def _check_span(year: AcademicYear, starts_on: date, ends_on: date) -> None:
    if ends_on < starts_on:
        raise invalid("ends_on", _l("The end must not come before the start."))
    if starts_on < year.starts_on or ends_on > year.ends_on:
        raise invalid(
            "starts_on",
            _l(
                "The dates must lie within the academic year (%(start)s – %(end)s).",
                start=year.starts_on.strftime("%d.%m.%Y"),
                end=year.ends_on.strftime("%d.%m.%Y"),
            ),
        )


def add_period(year_id: int, starts_on: date, ends_on: date) -> Period:
    """The year's next period (periods follow each other in order)."""
    year = get(AcademicYear, year_id)
    _check_span(year, starts_on, ends_on)
    periods = list(year.periods)
    if len(periods) >= PERIODS_PER_YEAR[year.period_kind]:
        raise invalid("", _l("The year already has all its periods."))
    if periods and starts_on <= periods[-1].ends_on:
        raise invalid("starts_on", _l("A period must start after the previous one ends."))
    period = Period(year_id=year.id, number=len(periods) + 1, starts_on=starts_on, ends_on=ends_on)
    db.session.add(period)
    commit()
    return period


def remove_period(period_id: int) -> None:
    """Remove the year's last period, unless final marks were set for it."""
    period = get(Period, period_id)
    if period.number != max(p.number for p in period.year.periods):
        raise invalid("", _l("Only the last period can be removed."))
    marked = db.session.execute(
        sa.select(FinalMark.id).where(FinalMark.period_id == period.id).limit(1)
    ).first()
    if marked:
        raise invalid("", _l("Period marks have been set for this period; it stays."))
    db.session.delete(period)
    commit()


def add_holiday(year_id: int, name: str, starts_on: date, ends_on: date) -> Holiday:
    year = get(AcademicYear, year_id)
    _check_span(year, starts_on, ends_on)
    holiday = Holiday(year_id=year.id, name=_clean(name), starts_on=starts_on, ends_on=ends_on)
    db.session.add(holiday)
    commit()
    return holiday


def remove_holiday(holiday_id: int) -> None:
    db.session.delete(get(Holiday, holiday_id))
    commit()


# --- bells ------------------------------------------------------------------------------


def set_bell(school_id: int, number: int, starts_at: time, ends_at: time) -> Bell:
    """Set the times of lesson ``number`` (adding it if new): it must end after it
    starts and fit between the lessons before and after it."""
    if not 1 <= number <= MAX_LESSONS:
        raise invalid("number", _l("The lesson number is from 1 to %(max)s.", max=MAX_LESSONS))
    if ends_at <= starts_at:
        raise invalid("ends_at", _l("The lesson must end after it starts."))
    school = get_school(school_id)
    for other in school.bells:
        if other.number < number and other.ends_at > starts_at:
            raise invalid(
                "starts_at",
                _l("Lesson %(number)s ends later than this one starts.", number=other.number),
            )
        if other.number > number and other.starts_at < ends_at:
            raise invalid(
                "ends_at", _l("Lesson %(number)s starts before this one ends.", number=other.number)
            )
    bell = next((b for b in school.bells if b.number == number), None)
    if bell is None:
        bell = Bell(school_id=school.id, number=number)
        db.session.add(bell)
    bell.starts_at, bell.ends_at = starts_at, ends_at
    commit()
    return bell


def remove_bell(bell_id: int) -> None:
    bell = get(Bell, bell_id)
    used = db.session.execute(
        sa.select(TimetableEntry.id)
        .join(SchoolClass, SchoolClass.id == TimetableEntry.class_id)
        .where(SchoolClass.school_id == bell.school_id, TimetableEntry.lesson_number == bell.number)
        .limit(1)
    ).first()
    if used:
        raise invalid("", _l("The timetable has lessons at this number; remove them first."))
    db.session.delete(bell)
    commit()


def lesson_numbers(school_id: int) -> list[int]:
    return [bell.number for bell in get_school(school_id).bells]


# --- staff ------------------------------------------------------------------------------


def staff_of(school_id: int) -> list[StaffMember]:
    """The school's staff, active first, by name."""
    return list(
        db.session.execute(
            sa.select(StaffMember)
            .where(StaffMember.school_id == school_id)
            .order_by(StaffMember.active.desc(), StaffMember.family_name, StaffMember.given_name)
        ).scalars()
    )


def teachers_of(school_id: int) -> list[StaffMember]:
    """Active staff who teach (teacher or class teacher)."""
    return list(
        db.session.execute(
            sa.select(StaffMember)
            .where(
                StaffMember.school_id == school_id,
                StaffMember.active.is_(True),
                StaffMember.id.in_(
                    sa.select(StaffRole.staff_id).where(StaffRole.role.in_(TEACHING_ROLES))
                ),
            )
            .order_by(StaffMember.family_name, StaffMember.given_name)
        ).scalars()
    )


def _teacher_of(school_id: int, staff_id: int | None, field: str) -> StaffMember:
    member = db.session.get(StaffMember, staff_id) if staff_id else None
    if (
        member is None
        or member.school_id != school_id
        or not member.active
        or not member.role_names & set(TEACHING_ROLES)
    ):
        raise invalid(field, _l("Choose a teacher of this school."))
    return member


def _check_roles(school_id: int | None, roles: Iterable[str]) -> list[str]:
    allowed = SCHOOL_ROLES if school_id is not None else ("department",)
    chosen = [role for role in allowed if role in set(roles)]
    if not chosen or set(roles) - set(allowed):
        raise invalid("roles", _l("Choose at least one role."))
    return chosen


def add_staff(
    school_id: int | None,
    family_name: str,
    given_name: str,
    middle_name: str | None,
    snils: str,
    roles: Iterable[str],
    position: str = "",
) -> StaffMember:
    """A staff member of a school (``school_id`` None: of the region's education
    department), known by the blind index of their SNILS; already linked to their diary
    account if they have signed in before."""
    if school_id is not None:
        get_school(school_id)
    roles = _check_roles(school_id, roles)
    index = index_of_snils(snils)
    same = db.session.execute(
        sa.select(StaffMember.id).where(
            StaffMember.snils_index == index,
            StaffMember.school_id.is_(None)
            if school_id is None
            else StaffMember.school_id == school_id,
        )
    ).first()
    if same:
        raise invalid("snils", _l("A staff member with this SNILS is already on the list."))
    person = person_with_snils(index)
    member = StaffMember(
        school_id=school_id,
        family_name=_clean(family_name),
        given_name=_clean(given_name),
        middle_name=_clean(middle_name) or None,
        snils_index=index,
        person_id=person.id if person else None,
        position=_clean(position),
        active=True,
    )
    member.roles = [StaffRole(role=role) for role in roles]
    db.session.add(member)
    commit()
    return member


def _other_admins(member: StaffMember) -> int:
    return db.session.execute(
        sa.select(sa.func.count(StaffMember.id)).where(
            StaffMember.school_id == member.school_id,
            StaffMember.active.is_(True),
            StaffMember.id != member.id,
            StaffMember.id.in_(
                sa.select(StaffRole.staff_id).where(StaffRole.role == "school_admin")
            ),
        )
    ).scalar_one()


def set_roles(staff_id: int, roles: Iterable[str]) -> StaffMember:
    member = get(StaffMember, staff_id)
    chosen = _check_roles(member.school_id, roles)
    if (
        "school_admin" in member.role_names
        and "school_admin" not in chosen
        and member.active
        and not _other_admins(member)
    ):
        raise invalid("roles", _l("The school must keep at least one administrator."))
    keep = {role.role: role for role in member.roles}
    member.roles = [keep.get(role) or StaffRole(role=role) for role in chosen]
    commit()
    return member


def set_active(staff_id: int, active: bool) -> StaffMember:
    """Deactivate (they lose access at once, their records stay) or bring back."""
    member = get(StaffMember, staff_id)
    if not active and "school_admin" in member.role_names and not _other_admins(member):
        raise invalid("", _l("The school must keep at least one administrator."))
    member.active = active
    commit()
    return member


# --- classes ----------------------------------------------------------------------------


def classes_of(school_id: int, year_id: int | None = None) -> list[SchoolClass]:
    """The school's classes of a year (the current one by default)."""
    if year_id is None:
        year = current_year(school_id)
        if year is None:
            return []
        year_id = year.id
    return list(
        db.session.execute(
            sa.select(SchoolClass)
            .where(SchoolClass.school_id == school_id, SchoolClass.year_id == year_id)
            .order_by(SchoolClass.grade, SchoolClass.letter)
        ).scalars()
    )


def schools() -> list[School]:
    """The region's schools, by name, with their municipalities."""
    return list(
        db.session.execute(
            sa.select(School).options(selectinload(School.municipality)).order_by(School.name)
        ).scalars()
    )


def normalize_letter(letter: str) -> str:
    letter = _clean(letter).upper()
    if not 1 <= len(letter) <= 3 or any(char not in LETTER_CHARS for char in letter):
        raise invalid("letter", _l("The letter is one to three Russian capital letters."))
    return letter


def create_class(
    school_id: int, year_id: int, grade: int, letter: str, class_teacher_id: int | None = None
) -> SchoolClass:
    year = db.session.get(AcademicYear, year_id)
    if year is None or year.school_id != school_id:
        raise invalid("year_id", _l("Choose an academic year of this school."))
    if not 1 <= grade <= MAX_GRADE:
        raise invalid("grade", _l("The grade is from 1 to %(max)s.", max=MAX_GRADE))
    letter = normalize_letter(letter)
    taken = db.session.execute(
        sa.select(SchoolClass.id).where(
            SchoolClass.year_id == year.id, SchoolClass.grade == grade, SchoolClass.letter == letter
        )
    ).first()
    if taken:
        raise invalid(
            "letter", _l("The class %(name)s already exists this year.", name=f"{grade}{letter}")
        )
    school_class = SchoolClass(school_id=school_id, year_id=year.id, grade=grade, letter=letter)
    if class_teacher_id:
        make_class_teacher(
            school_class, _teacher_of(school_id, class_teacher_id, "class_teacher_id")
        )
    db.session.add(school_class)
    commit()
    return school_class


def make_class_teacher(school_class: SchoolClass, member: StaffMember) -> None:
    school_class.class_teacher = member
    if "class_teacher" not in member.role_names:
        member.roles.append(StaffRole(role="class_teacher"))


def set_class_teacher(class_id: int, staff_id: int | None) -> SchoolClass:
    school_class = get(SchoolClass, class_id)
    if staff_id:
        make_class_teacher(
            school_class, _teacher_of(school_class.school_id, staff_id, "class_teacher_id")
        )
    else:
        school_class.class_teacher = None
    commit()
    return school_class


def class_students(class_id: int, on: date | None = None) -> list[tuple[Student, Enrolment]]:
    """The students enrolled in the class on a day (today), by name."""
    on = on or date.today()
    return [
        (row.Student, row.Enrolment)
        for row in db.session.execute(
            sa.select(Student, Enrolment)
            .join(Enrolment, Enrolment.student_id == Student.id)
            .where(
                Enrolment.class_id == class_id,
                Enrolment.starts_on <= on,
                sa.or_(Enrolment.ends_on.is_(None), Enrolment.ends_on > on),
            )
            .order_by(Student.family_name, Student.given_name)
        )
    ]


def class_by_name(school_id: int, year_id: int, name: str) -> SchoolClass | None:
    """«7Б» (also «7 Б», «7-б») in the year, or None."""
    text = _clean(name).replace(" ", "").replace("-", "").upper()
    digits = ascii_digits(text)
    letter = text[len(digits) :]
    if not digits or not letter or not text.startswith(digits):
        return None
    return db.session.execute(
        sa.select(SchoolClass).where(
            SchoolClass.school_id == school_id,
            SchoolClass.year_id == year_id,
            SchoolClass.grade == int(digits),
            SchoolClass.letter == letter,
        )
    ).scalar_one_or_none()


# --- teaching assignments ---------------------------------------------------------------


def assignments_of(school_id: int) -> list[TeachingAssignment]:
    """Who teaches what in the classes of the current year."""
    classes = [c.id for c in classes_of(school_id)]
    return list(
        db.session.execute(
            sa.select(TeachingAssignment)
            .join(SchoolClass, SchoolClass.id == TeachingAssignment.class_id)
            .join(Subject, Subject.id == TeachingAssignment.subject_id)
            .where(TeachingAssignment.class_id.in_(classes))
            .order_by(SchoolClass.grade, SchoolClass.letter, Subject.name)
        ).scalars()
    )


def class_assignments(class_id: int) -> list[TeachingAssignment]:
    return list(
        db.session.execute(
            sa.select(TeachingAssignment)
            .join(Subject, Subject.id == TeachingAssignment.subject_id)
            .where(TeachingAssignment.class_id == class_id)
            .order_by(Subject.name)
        ).scalars()
    )


def add_assignment(class_id: int, subject_id: int, teacher_id: int) -> TeachingAssignment:
    school_class = get(SchoolClass, class_id)
    if db.session.get(Subject, subject_id) is None:
        raise invalid("subject_id", _l("Choose a subject from the list."))
    teacher = _teacher_of(school_class.school_id, teacher_id, "teacher_id")
    taken = db.session.execute(
        sa.select(TeachingAssignment.id).where(
            TeachingAssignment.class_id == class_id,
            TeachingAssignment.subject_id == subject_id,
            TeachingAssignment.teacher_id == teacher.id,
        )
    ).first()
    if taken:
        raise invalid("teacher_id", _l("This teacher already teaches this subject in the class."))
    assignment = TeachingAssignment(class_id=class_id, subject_id=subject_id, teacher_id=teacher.id)
    db.session.add(assignment)
    commit()
    return assignment


def remove_assignment(assignment_id: int) -> None:
    assignment = get(TeachingAssignment, assignment_id)
    used = db.session.execute(
        sa.select(TimetableEntry.id).where(
            TimetableEntry.class_id == assignment.class_id,
            TimetableEntry.subject_id == assignment.subject_id,
            TimetableEntry.teacher_id == assignment.teacher_id,
        )
    ).first()
    if used:
        raise invalid("", _l("The timetable has these lessons; remove them from it first."))
    db.session.delete(assignment)
    commit()


# --- the weekly timetable ---------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One slot of the weekly grid as the editor sends it (all empty: no lesson)."""

    subject_id: int | None
    teacher_id: int | None
    room: str = ""

    @property
    def empty(self) -> bool:
        return not self.subject_id and not self.teacher_id and not _clean(self.room)


class TimetableErrors(ValidationError):
    """What is wrong with the grid, by slot ``(weekday, lesson number)``."""

    def __init__(self, cells: dict[tuple[int, int], list[Any]]) -> None:
        self.cells = cells
        super().__init__(next(iter(cells.values()))[0])


def timetable_of(class_id: int) -> dict[tuple[int, int], TimetableEntry]:
    return {
        (entry.weekday, entry.lesson_number): entry
        for entry in db.session.execute(
            sa.select(TimetableEntry).where(TimetableEntry.class_id == class_id)
        ).scalars()
    }


def _busy_elsewhere(school_class: SchoolClass) -> dict[tuple[int, int, int], SchoolClass]:
    """(teacher, weekday, lesson) → the other class of the same school year there."""
    rows = db.session.execute(
        sa.select(TimetableEntry, SchoolClass)
        .join(SchoolClass, SchoolClass.id == TimetableEntry.class_id)
        .where(
            SchoolClass.school_id == school_class.school_id,
            SchoolClass.year_id == school_class.year_id,
            SchoolClass.id != school_class.id,
        )
    ).all()
    return {
        (
            row.TimetableEntry.teacher_id,
            row.TimetableEntry.weekday,
            row.TimetableEntry.lesson_number,
        ): (row.SchoolClass)
        for row in rows
    }


def _changes_teacher(entry: TimetableEntry | None, cell: Cell) -> bool:
    """Does the cell put a teacher where they were not before? Only such cells are
    checked for double booking, so a clash already in the data (an import, a timetable
    saved before this rule) does not block editing the rest of the week."""
    return entry is None or entry.teacher_id != cell.teacher_id


def save_timetable(class_id: int, cells: Mapping[tuple[int, int], Cell]) -> None:
    """Replace the class's weekly timetable with the grid. Each lesson needs a subject
    and a teacher who teaches that subject in this class; no teacher may stand in two
    classes of the school at the same time. All of it is saved, or nothing."""
    school_class = get(SchoolClass, class_id)
    numbers = set(lesson_numbers(school_class.school_id))
    teaches = {(a.subject_id, a.teacher_id) for a in class_assignments(class_id)}
    busy = _busy_elsewhere(school_class)
    existing = timetable_of(class_id)
    errors: dict[tuple[int, int], list[Any]] = {}
    wanted: dict[tuple[int, int], Cell] = {}
    for slot, cell in cells.items():
        weekday, number = slot
        if cell.empty:
            continue
        problems = errors.setdefault(slot, [])
        if weekday not in WEEKDAYS or number not in numbers:
            problems.append(_l("There is no such lesson in the bell schedule."))
        elif not cell.subject_id or not cell.teacher_id:
            problems.append(_l("Choose both the subject and the teacher."))
        elif (cell.subject_id, cell.teacher_id) not in teaches:
            problems.append(_l("This teacher does not teach this subject in the class."))
        elif (cell.teacher_id, weekday, number) in busy and _changes_teacher(
            existing.get(slot), cell
        ):
            problems.append(
                _l(
                    "The teacher already has a lesson in %(name)s at this time.",
                    name=busy[(cell.teacher_id, weekday, number)].name,
                )
            )
        elif len(_clean(cell.room)) > 30:
            problems.append(_l("The room is at most 30 characters."))
        if not problems:
            del errors[slot]
            wanted[slot] = cell
    if errors:
        raise TimetableErrors(errors)
    for slot, entry in existing.items():
        if slot not in wanted:
            db.session.delete(entry)
    for (weekday, number), cell in wanted.items():
        entry = existing.get((weekday, number))
        if entry is None:
            entry = TimetableEntry(class_id=class_id, weekday=weekday, lesson_number=number)
            db.session.add(entry)
        entry.subject_id = cell.subject_id
        entry.teacher_id = cell.teacher_id
        entry.room = _clean(cell.room)
    commit()


# --- dated changes of the timetable -----------------------------------------------------


def changes_on(school_id: int, on: date) -> list[tuple[TimetableChange, TimetableEntry | None]]:
    """The school's timetable changes on a day, with the lesson each one changes."""
    changes = db.session.execute(
        sa.select(TimetableChange)
        .join(SchoolClass, SchoolClass.id == TimetableChange.class_id)
        .where(SchoolClass.school_id == school_id, TimetableChange.on_date == on)
        .order_by(SchoolClass.grade, SchoolClass.letter, TimetableChange.lesson_number)
    ).scalars()
    return [
        (change, timetable_of(change.class_id).get((on.isoweekday(), change.lesson_number)))
        for change in changes
    ]


def _substitute_busy(
    school_class: SchoolClass, member: StaffMember, on: date, number: int
) -> SchoolClass | None:
    """The class the substitute already teaches at that lesson that day, if any: their
    own timetable lesson (unless it is cancelled or given by someone else) or another
    substitution."""
    taken = db.session.execute(
        sa.select(SchoolClass)
        .join(TimetableChange, TimetableChange.class_id == SchoolClass.id)
        .where(
            TimetableChange.on_date == on,
            TimetableChange.lesson_number == number,
            TimetableChange.substitute_id == member.id,
            TimetableChange.kind == "substitution",
        )
    ).scalar_one_or_none()
    if taken is not None:
        return taken
    for other in db.session.execute(
        sa.select(SchoolClass)
        .join(TimetableEntry, TimetableEntry.class_id == SchoolClass.id)
        .where(
            SchoolClass.year_id == school_class.year_id,
            SchoolClass.id != school_class.id,
            TimetableEntry.teacher_id == member.id,
            TimetableEntry.weekday == on.isoweekday(),
            TimetableEntry.lesson_number == number,
        )
    ).scalars():
        freed = db.session.execute(
            sa.select(TimetableChange.id).where(
                TimetableChange.class_id == other.id,
                TimetableChange.on_date == on,
                TimetableChange.lesson_number == number,
                TimetableChange.kind.in_(("substitution", "cancellation")),
            )
        ).first()
        if not freed:
            return other
    return None


def add_change(
    class_id: int,
    on: date,
    lesson_number: int,
    kind: str,
    substitute_id: int | None = None,
    room: str = "",
    note: str = "",
    created_by_id: int | None = None,
) -> TimetableChange:
    """A substitution (with the substitute teacher), a cancellation or a room change of
    one lesson of the class's timetable on a day."""
    school_class = get(SchoolClass, class_id)
    year = school_class.year
    if kind not in TIMETABLE_CHANGE_KINDS:
        raise invalid("kind", _l("Choose what changes."))
    if not year.starts_on <= on <= year.ends_on:
        raise invalid("on_date", _l("The date is outside the class's academic year."))
    if is_holiday(year, on):
        raise invalid("on_date", _l("The date falls on holidays."))
    entry = timetable_of(class_id).get((on.isoweekday(), lesson_number))
    if entry is None:
        raise invalid("lesson_number", _l("The class has no lesson at this number on that day."))
    taken = db.session.execute(
        sa.select(TimetableChange.id).where(
            TimetableChange.class_id == class_id,
            TimetableChange.on_date == on,
            TimetableChange.lesson_number == lesson_number,
        )
    ).first()
    if taken:
        raise invalid(
            "lesson_number", _l("This lesson already has a change; remove it first to replace it.")
        )
    room = _clean(room)
    substitute = None
    if kind == "substitution":
        substitute = _teacher_of(school_class.school_id, substitute_id, "substitute_id")
        if substitute.id == entry.teacher_id:
            raise invalid("substitute_id", _l("The substitute is the lesson's own teacher."))
        busy = _substitute_busy(school_class, substitute, on, lesson_number)
        if busy is not None:
            raise invalid(
                "substitute_id",
                _l("The teacher already has a lesson in %(name)s at this time.", name=busy.name),
            )
    elif kind == "room_change" and not room:
        raise invalid("room", _l("Enter the new room."))
    change = TimetableChange(
        class_id=class_id,
        on_date=on,
        lesson_number=lesson_number,
        kind=kind,
        substitute_id=substitute.id if substitute else None,
        room=room if kind != "cancellation" else "",
        note=_clean(note),
        created_by_id=created_by_id,
    )
    db.session.add(change)
    commit()
    _changed(school_class, on, lesson_number)
    return change


def remove_change(change_id: int) -> None:
    change = get(TimetableChange, change_id)
    school_class, on, number = change.school_class, change.on_date, change.lesson_number
    db.session.delete(change)
    commit()
    _changed(school_class, on, number)


def _changed(school_class: SchoolClass, on: date, lesson_number: int) -> None:
    """Tell the listeners (the journal keeps an opened lesson in step) once committed."""
    signals.timetable_changed.send(
        current_app._get_current_object(),
        school_class=school_class,
        on_date=on,
        lesson_number=lesson_number,
    )


# --- notices and parent meetings --------------------------------------------------------


def notices_of(school_id: int) -> list[Notice]:
    return list(
        db.session.execute(
            sa.select(Notice)
            .where(Notice.school_id == school_id)
            .order_by(Notice.starts_on.desc(), Notice.id.desc())
        ).scalars()
    )


def _class_of_school(school_id: int, class_id: int | None, field: str = "class_id") -> SchoolClass:
    school_class = db.session.get(SchoolClass, class_id) if class_id else None
    if school_class is None or school_class.school_id != school_id:
        raise invalid(field, _l("Choose a class of this school."))
    return school_class


def add_notice(
    school_id: int,
    class_id: int | None,
    kind: str,
    title: str,
    body: str,
    starts_on: date,
    ends_on: date | None = None,
    created_by_id: int | None = None,
) -> Notice:
    """News, an event or a quarantine for the whole school (no class) or one class."""
    if class_id:
        _class_of_school(school_id, class_id)
    if kind not in NOTICE_KINDS:
        raise invalid("kind", _l("Choose the kind of notice."))
    if ends_on is not None and ends_on < starts_on:
        raise invalid("ends_on", _l("The end must not come before the start."))
    notice = Notice(
        school_id=school_id,
        class_id=class_id or None,
        kind=kind,
        title=_clean(title),
        body=_clean(body),
        starts_on=starts_on,
        ends_on=ends_on,
        created_by_id=created_by_id,
    )
    db.session.add(notice)
    commit()
    return notice


def remove_notice(notice_id: int) -> None:
    db.session.delete(get(Notice, notice_id))
    commit()


def meetings_of(school_id: int) -> list[ParentMeeting]:
    return list(
        db.session.execute(
            sa.select(ParentMeeting)
            .join(SchoolClass, SchoolClass.id == ParentMeeting.class_id)
            .where(SchoolClass.school_id == school_id)
            .order_by(ParentMeeting.held_at.desc())
        ).scalars()
    )


def add_meeting(
    school_id: int,
    class_id: int,
    held_at: datetime,
    place: str,
    agenda: str,
    created_by_id: int | None = None,
) -> ParentMeeting:
    _class_of_school(school_id, class_id)
    meeting = ParentMeeting(
        class_id=class_id,
        held_at=held_at,
        place=_clean(place),
        agenda=_clean(agenda),
        created_by_id=created_by_id,
    )
    db.session.add(meeting)
    commit()
    return meeting


def remove_meeting(meeting_id: int) -> None:
    db.session.delete(get(ParentMeeting, meeting_id))
    commit()


# --- students and enrolments ------------------------------------------------------------


def students_of(school_id: int, on: date | None = None) -> list[tuple[Student, SchoolClass]]:
    """The students enrolled in the school on a day (today), by class and name."""
    on = on or date.today()
    return [
        (row.Student, row.SchoolClass)
        for row in db.session.execute(
            sa.select(Student, SchoolClass)
            .join(Enrolment, Enrolment.student_id == Student.id)
            .join(SchoolClass, SchoolClass.id == Enrolment.class_id)
            .where(
                SchoolClass.school_id == school_id,
                Enrolment.starts_on <= on,
                sa.or_(Enrolment.ends_on.is_(None), Enrolment.ends_on > on),
            )
            .order_by(
                SchoolClass.grade, SchoolClass.letter, Student.family_name, Student.given_name
            )
        )
    ]


def open_enrolment(student: Student) -> Enrolment | None:
    for enrolment in student.enrolments:
        if enrolment.ends_on is None:
            return enrolment
    return None


def _in_year(school_class: SchoolClass, on: date, field: str) -> None:
    year = school_class.year
    if not year.starts_on <= on <= year.ends_on:
        raise invalid(
            field,
            _l(
                "The date must lie within the class's academic year (%(start)s – %(end)s).",
                start=year.starts_on.strftime("%d.%m.%Y"),
                end=year.ends_on.strftime("%d.%m.%Y"),
            ),
        )


def student_with_snils(index: str) -> Student | None:
    return db.session.execute(
        sa.select(Student).where(Student.snils_index == index).limit(1)
    ).scalar_one_or_none()


def admission_problem(student: Student | None, school_id: int) -> Any:
    """Why a student with this SNILS cannot be admitted, or None (a new student, or one
    who left school and comes back)."""
    if student is None or student.school_id is None:
        return None
    if student.school_id == school_id:
        return _l("A student with this SNILS already studies at this school.")
    return _l(
        "A student with this SNILS studies at another school; that school transfers them here."
    )


def admit_student(
    school_id: int,
    family_name: str,
    given_name: str,
    middle_name: str | None,
    birth_date: date,
    snils: str,
    class_id: int,
    on: date,
    note: str = "",
) -> Student:
    """Enrol a student in a class from ``on``. A student who had left school before
    (same SNILS) comes back with their record and history; one still enrolled
    elsewhere is transferred by their school instead."""
    school_class = _class_of_school(school_id, class_id)
    _in_year(school_class, on, "starts_on")
    if not date.today() - timedelta(days=25 * 366) < birth_date < date.today():
        raise invalid("birth_date", _l("Check the birth date."))
    index = index_of_snils(snils)
    student = student_with_snils(index)
    problem = admission_problem(student, school_id)
    if problem is not None:
        raise invalid("snils", problem)
    if student is not None and any(
        enrolment.ends_on is not None and enrolment.ends_on > on for enrolment in student.enrolments
    ):
        raise invalid("starts_on", _l("The student's previous enrolment ended after this date."))
    if student is None:
        person = person_with_snils(index)
        student = Student(
            family_name=_clean(family_name),
            given_name=_clean(given_name),
            middle_name=_clean(middle_name) or None,
            birth_date=birth_date,
            snils_index=index,
            person_id=person.id if person else None,
        )
        db.session.add(student)
    student.school_id = school_id
    student.enrolments.append(
        Enrolment(school_class=school_class, starts_on=on, reason="admission", note=_clean(note))
    )
    commit()
    return student


def transfer_student(
    student_id: int, school_id: int, class_name: str, on: date, note: str = ""
) -> Enrolment:
    """Move a student from ``on`` to class ``class_name`` («7Б») of a school of the region
    (their own or another), in that school's academic year of that date: the open
    enrolment ends (``transfer``) and a new one begins."""
    student = get(Student, student_id)
    current = open_enrolment(student)
    if current is None:
        raise invalid("", _l("The student is not enrolled anywhere now; admit them instead."))
    if db.session.get(School, school_id) is None:
        raise invalid("school_id", _l("Choose a school from the list."))
    year = current_year(school_id, on)
    target = class_by_name(school_id, year.id, class_name) if year is not None else None
    if target is None:
        raise invalid(
            "class_name",
            _l(
                "The school has no class «%(name)s» in the academic year of that date.",
                name=_clean(class_name),
            ),
        )
    if target.id == current.class_id:
        raise invalid("class_name", _l("The student is already in this class."))
    if on <= current.starts_on:
        raise invalid(
            "on",
            _l(
                "The date must come after %(date)s, when the current enrolment began.",
                date=current.starts_on.strftime("%d.%m.%Y"),
            ),
        )
    _in_year(target, on, "on")
    current.ends_on = on
    current.end_reason = "transfer"
    enrolment = Enrolment(school_class=target, starts_on=on, reason="transfer", note=_clean(note))
    student.enrolments.append(enrolment)
    student.school_id = target.school_id
    commit()
    return enrolment


def leave_student(student_id: int, on: date, note: str = "") -> Enrolment:
    """The student leaves the school from ``on`` (their history stays)."""
    student = get(Student, student_id)
    current = open_enrolment(student)
    if current is None:
        raise invalid("", _l("The student is not enrolled anywhere now."))
    if on <= current.starts_on:
        raise invalid(
            "on",
            _l(
                "The date must come after %(date)s, when the current enrolment began.",
                date=current.starts_on.strftime("%d.%m.%Y"),
            ),
        )
    current.ends_on = on
    current.end_reason = "leaving"
    if _clean(note):
        current.note = _clean(note)
    student.school_id = None
    commit()
    return current


# --- guardians --------------------------------------------------------------------------


def guardians_of(
    student_id: int, until: date | None = None
) -> tuple[list[Guardian], list[Guardian]]:
    """The student's guardian links: current ones, then revoked ones; with ``until``
    (the day a former school's time with the student ended), as they stood then."""
    query = sa.select(Guardian).where(Guardian.student_id == student_id)
    end = datetime.combine(until, time.min) if until is not None else None
    if end is not None:
        query = query.where(Guardian.created_at < end)
    links = list(
        db.session.execute(query.order_by(Guardian.created_at.desc(), Guardian.id.desc())).scalars()
    )

    def revoked(link: Guardian) -> bool:
        return link.revoked_at is not None and (end is None or link.revoked_at < end)

    return (
        [link for link in links if not revoked(link)],
        [link for link in links if revoked(link)],
    )


def link_guardian(
    student_id: int,
    family_name: str,
    given_name: str,
    middle_name: str | None,
    snils: str,
    reason: str,
    created_by_id: int | None = None,
) -> Guardian:
    """The school links a parent to a student, naming them by SNILS (its blind index);
    the link opens the diary to the parent at once if they have signed in before, else
    at their first sign-in."""
    student = get(Student, student_id)
    index = index_of_snils(snils)
    if student.snils_index == index:
        raise invalid("snils", _l("This is the student's own SNILS."))
    current, _revoked = guardians_of(student.id)
    person = person_with_snils(index)
    for link in current:
        if link.kind != "parent":  # a trusted person may also be made a parent
            continue
        if link.snils_index == index or (person is not None and link.person_id == person.id):
            raise invalid("snils", _l("This parent is already linked to the student."))
    guardian = Guardian(
        student_id=student.id,
        person_id=person.id if person else None,
        snils_index=index,
        family_name=_clean(family_name),
        given_name=_clean(given_name),
        middle_name=_clean(middle_name) or None,
        kind="parent",
        source="school",
        reason=_clean(reason),
        created_by_id=created_by_id,
    )
    db.session.add(guardian)
    commit()
    return guardian


def revoke_guardian(guardian_id: int, revoked_by_id: int | None = None) -> Guardian:
    guardian = get(Guardian, guardian_id)
    if guardian.revoked_at is not None:
        raise invalid("", _l("The link has already been revoked."))
    guardian.revoked_at = utcnow()
    guardian.revoked_by_id = revoked_by_id
    commit()
    return guardian


# --- the mark policy and the rating -----------------------------------------------------


def policies_of(school_id: int) -> list[MarkPolicy]:
    """The school's policy versions, newest first."""
    return list(
        db.session.execute(
            sa.select(MarkPolicy)
            .where(MarkPolicy.school_id == school_id)
            .order_by(MarkPolicy.version.desc())
        ).scalars()
    )


POLICY_PROBLEMS = {
    "average": ("average", _l("Choose how the average is taken.")),
    "weight": ("", _l("Each weight is a whole number from 1 to 10.")),
    "threshold": ("", _l("Each threshold lies above 1 and at most 5.")),
    "threshold order": ("threshold_4", _l("The thresholds must fall from «5» to «3».")),
}


def new_policy(
    school_id: int,
    weights: Mapping[str, int],
    average: str,
    thresholds: Mapping[str, Decimal | str],
    created_by_id: int | None = None,
) -> MarkPolicy:
    """A new version of the school's mark policy; earlier versions stay as they were
    (final marks name the version they were set under)."""
    get_school(school_id)
    try:
        rule = validate_rule(weights, thresholds, average)
    except (ValueError, KeyError, ArithmeticError) as exc:
        field, message = POLICY_PROBLEMS.get(str(exc), POLICY_PROBLEMS["threshold"])
        raise invalid(field, message) from exc
    latest = db.session.execute(
        sa.select(sa.func.max(MarkPolicy.version)).where(MarkPolicy.school_id == school_id)
    ).scalar_one()
    policy = MarkPolicy(
        school_id=school_id,
        version=(latest or 0) + 1,
        weights=dict(rule.weights),
        average=rule.average,
        thresholds={mark: str(value) for mark, value in rule.thresholds.items()},
        created_by_id=created_by_id,
    )
    db.session.add(policy)
    commit()
    return policy


def set_rating(school_id: int, enabled: bool) -> School:
    school = get_school(school_id)
    school.rating_enabled = enabled
    commit()
    return school


# --- the school at a glance and the health worker's absences ----------------------------


@dataclass(frozen=True)
class Summary:
    year: AcademicYear | None
    classes: int
    students: int
    staff: int
    policy: MarkPolicy | None


def summary(school_id: int) -> Summary:
    policies = policies_of(school_id)
    return Summary(
        year=current_year(school_id),
        classes=len(classes_of(school_id)),
        students=len(students_of(school_id)),
        staff=sum(1 for member in staff_of(school_id) if member.active),
        policy=policies[0] if policies else None,
    )


@dataclass(frozen=True)
class Absence:
    on: date
    lesson_number: int
    student: Student
    school_class: SchoolClass
    code: str


def absences(school_id: int, start: date, end: date) -> list[Absence]:
    """Current, not deleted attendance records of the school's lessons from ``start`` to
    ``end``, newest day first."""
    rows = db.session.execute(
        sa.select(Attendance.code, Lesson.on_date, Lesson.lesson_number, Student, SchoolClass)
        .join(Lesson, Lesson.id == Attendance.lesson_id)
        .join(SchoolClass, SchoolClass.id == Lesson.class_id)
        .join(Student, Student.id == Attendance.student_id)
        .where(
            SchoolClass.school_id == school_id,
            Attendance.is_current.is_(True),
            Attendance.deleted.is_(False),
            Lesson.on_date >= start,
            Lesson.on_date <= end,
        )
        .order_by(
            Lesson.on_date.desc(),
            SchoolClass.grade,
            SchoolClass.letter,
            Student.family_name,
            Student.given_name,
            Lesson.lesson_number,
        )
    ).all()
    return [
        Absence(row.on_date, row.lesson_number, row.Student, row.SchoolClass, row.code)
        for row in rows
    ]
