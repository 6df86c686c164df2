"""Importing a school's roster from CSV: its classes, staff and students.

The file is a spreadsheet saved as CSV: a header row naming the columns (any order, see
``COLUMNS``), UTF-8 with or without a byte-order mark, values separated by ``;`` (as
Excel in Russia saves) or ``,``. Every line is checked before anything is written; then
all of it is written in one transaction. A single bad line and nothing is written: the
report names every bad line with its number and what is wrong, in the reader's language.
SNILS numbers are kept only as their blind index and never appear in the report.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

import diary_service.clock as clock
from diary_service.extensions import db
from diary_service.models.auth import DiaryPerson
from diary_service.models.school import (
    AcademicYear,
    Enrolment,
    School,
    SchoolClass,
    StaffMember,
    StaffRole,
    Student,
    full_name,
)
from diary_service.school import services

# Re-exported: the views, the CLI and the tests read the file's shape through this module.
from diary_service.school.roster_csv import COLUMNS as COLUMNS
from diary_service.school.roster_csv import (
    DATE_FORMATS,
    NAME_LENGTH,
    Line,
    Report,
    RosterRejected,
    read_csv,
)
from diary_service.school.roster_csv import KINDS as KINDS
from diary_service.school.roster_csv import template_csv as template_csv
from shared.errors import ValidationError
from shared.validators import is_ascii_number

Progress = Callable[[int], Any]


def import_roster(
    school_id: int, kind: str, data: bytes, *, progress: Progress | None = None
) -> Report:
    """Read, check and write a roster file; ``RosterRejected`` (nothing written) unless
    every line is right."""
    return import_lines(school_id, read_csv(kind, data), progress=progress)


def import_lines(school_id: int, report: Report, *, progress: Progress | None = None) -> Report:
    """Check every line of a read file, then write them all in one transaction.
    ``progress(1)`` is called once per line checked and once per line written."""
    school = services.get_school(school_id)
    tick = progress or (lambda _n: None)
    writes: list[Callable[[], None]] = []
    if report.ok:
        year = services.current_year(school.id)
        if year is None and report.kind != "staff":
            report.file_errors.append(_l("The school has no academic year yet; create it first."))
        else:
            check = {"classes": _check_classes, "staff": _check_staff, "students": _check_students}
            writes = check[report.kind](school, year, report.lines, tick)
    if not report.ok:
        raise RosterRejected(report)
    for write in writes:
        write()
        tick(1)
    try:
        services.commit()
    except ValidationError as exc:
        report.file_errors.append(exc.message)
        raise RosterRejected(report) from exc
    report.written = len(writes)
    return report


# --- checking lines ---------------------------------------------------------------------


def _name(line: Line, column: str, required: bool = True) -> str:
    value = line.get(column)
    if required and not value:
        line.problem(column, _l("Fill it in."))
    elif len(value) > NAME_LENGTH:
        line.problem(column, _l("At most %(max)s characters.", max=NAME_LENGTH))
    return value


def _snils(line: Line, column: str) -> str | None:
    try:
        return services.index_of_snils(line.get(column), column)
    except services.FormErrors as exc:
        line.problem(column, exc.message)
        return None


def _date(line: Line, column: str) -> date | None:
    value = line.get(column)
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    line.problem(column, _l("Write the date as DD.MM.YYYY."))
    return None


def _repeated(line: Line, column: str, key: Any, seen: dict[Any, int]) -> bool:
    if key in seen:
        line.problem(column, _l("The same as on line %(number)s.", number=seen[key]))
        return True
    seen[key] = line.number
    return False


def _people(indexes: set[str]) -> dict[str, int]:
    """Blind index → the signed-in person with that SNILS."""
    if not indexes:
        return {}
    return dict(
        db.session.execute(
            sa.select(DiaryPerson.snils_index, DiaryPerson.id).where(
                DiaryPerson.snils_index.in_(indexes)
            )
        ).all()
    )


def _check_classes(
    school: School, year: AcademicYear, lines: list[Line], tick: Progress
) -> list[Callable[[], None]]:
    existing = {(c.grade, c.letter) for c in services.classes_of(school.id, year.id)}
    staff = {m.snils_index: m for m in services.staff_of(school.id) if m.active}
    seen: dict[Any, int] = {}
    writes = []
    for line in lines:
        tick(1)
        grade = line.get("grade")
        if not is_ascii_number(grade) or not 1 <= int(grade) <= services.MAX_GRADE:
            line.problem("grade", _l("A whole number from 1 to %(max)s.", max=services.MAX_GRADE))
        try:
            letter = services.normalize_letter(line.get("letter"))
        except services.FormErrors as exc:
            line.problem("letter", exc.message)
            letter = ""
        line.label = f"{grade}{letter}"
        teacher = None
        if line.get("class_teacher_snils"):
            index = _snils(line, "class_teacher_snils")
            teacher = staff.get(index) if index else None
            if index and teacher is None:
                line.problem(
                    "class_teacher_snils",
                    _l("No active staff member of the school has this SNILS."),
                )
            elif teacher is not None and not teacher.role_names & set(services.TEACHING_ROLES):
                line.problem("class_teacher_snils", _l("This staff member is not a teacher."))
        if line.errors:
            continue
        key = (int(grade), letter)
        if _repeated(line, "letter", key, seen):
            continue
        if key in existing:
            line.problem(
                "letter", _l("The class %(name)s already exists this year.", name=line.label)
            )
            continue
        writes.append(_class_writer(school, year, key, teacher))
    return writes


def _class_writer(
    school: School, year: AcademicYear, key: tuple[int, str], teacher: StaffMember | None
) -> Callable[[], None]:
    def write() -> None:
        school_class = SchoolClass(
            school_id=school.id, year_id=year.id, grade=key[0], letter=key[1]
        )
        if teacher is not None:
            services.make_class_teacher(school_class, teacher)
        db.session.add(school_class)

    return write


def _check_staff(
    school: School, _year: AcademicYear | None, lines: list[Line], tick: Progress
) -> list[Callable[[], None]]:
    existing = {m.snils_index for m in services.staff_of(school.id)}
    seen: dict[Any, int] = {}
    rows = []
    for line in lines:
        tick(1)
        family, given = _name(line, "family_name"), _name(line, "given_name")
        middle = _name(line, "middle_name", required=False)
        line.label = full_name(family, given, middle)
        position = line.get("position")
        if len(position) > NAME_LENGTH:
            line.problem("position", _l("At most %(max)s characters.", max=NAME_LENGTH))
        roles = [role.strip().lower() for role in line.get("roles").split(",") if role.strip()]
        unknown = [role for role in roles if role not in services.SCHOOL_ROLES]
        if not roles:
            line.problem(
                "roles",
                _l("Name at least one role: %(roles)s.", roles=", ".join(services.SCHOOL_ROLES)),
            )
        elif unknown:
            line.problem(
                "roles",
                _l(
                    "Unknown role «%(role)s». The roles are: %(roles)s.",
                    role=unknown[0],
                    roles=", ".join(services.SCHOOL_ROLES),
                ),
            )
        index = _snils(line, "snils")
        if index and not _repeated(line, "snils", index, seen) and index in existing:
            line.problem("snils", _l("A staff member with this SNILS is already on the list."))
        if not line.errors:
            rows.append((family, given, middle, index, roles, position))
    people = _people({row[3] for row in rows})
    return [_staff_writer(school, *row, people.get(row[3])) for row in rows]


def _staff_writer(
    school: School,
    family: str,
    given: str,
    middle: str,
    index: str,
    roles: list[str],
    position: str,
    person_id: int | None,
) -> Callable[[], None]:
    def write() -> None:
        member = StaffMember(
            school_id=school.id,
            family_name=family,
            given_name=given,
            middle_name=middle or None,
            snils_index=index,
            person_id=person_id,
            position=position,
            active=True,
        )
        member.roles = [StaffRole(role=role) for role in services.SCHOOL_ROLES if role in roles]
        db.session.add(member)

    return write


def _check_students(
    school: School, year: AcademicYear, lines: list[Line], tick: Progress
) -> list[Callable[[], None]]:
    today = clock.today()
    default_start = min(max(today, year.starts_on), year.ends_on)
    seen: dict[Any, int] = {}
    checked = []
    for line in lines:
        tick(1)
        family, given = _name(line, "family_name"), _name(line, "given_name")
        middle = _name(line, "middle_name", required=False)
        line.label = full_name(family, given, middle)
        born = _date(line, "birth_date")
        if born is not None and not today - timedelta(days=25 * 366) < born < today:
            line.problem("birth_date", _l("Check the birth date."))
        index = _snils(line, "snils")
        if index:
            _repeated(line, "snils", index, seen)
        school_class = services.class_by_name(school.id, year.id, line.get("class"))
        if school_class is None:
            line.problem(
                "class",
                _l("There is no class «%(name)s» this year.", name=line.get("class")),
            )
        else:
            line.label = f"{line.label}, {school_class.name}"
        starts = default_start
        if line.get("admission_date"):
            starts = _date(line, "admission_date")
            if starts is not None and not year.starts_on <= starts <= year.ends_on:
                line.problem(
                    "admission_date",
                    _l("The date is outside the academic year %(name)s.", name=year.name),
                )
        checked.append((line, family, given, middle, born, index, school_class, starts))
    known = _students({row[5] for row in checked if row[5]})
    people = _people({row[5] for row in checked if row[5]})
    writes = []
    for line, family, given, middle, born, index, school_class, starts in checked:
        student = known.get(index)
        problem = services.admission_problem(student, school.id)
        if problem is not None:
            line.problem("snils", problem)
        elif student is not None and any(
            e.ends_on is not None and starts is not None and e.ends_on > starts
            for e in student.enrolments
        ):
            line.problem(
                "admission_date", _l("The student's previous enrolment ended after this date.")
            )
        if line.errors:
            continue
        writes.append(
            _student_writer(
                school, family, given, middle, born, index, school_class, starts, student, people
            )
        )
    return writes


def _students(indexes: set[str]) -> dict[str, Student]:
    if not indexes:
        return {}
    return {
        student.snils_index: student
        for student in db.session.execute(
            sa.select(Student).where(Student.snils_index.in_(indexes))
        ).scalars()
    }


def _student_writer(
    school: School,
    family: str,
    given: str,
    middle: str,
    born: date,
    index: str,
    school_class: SchoolClass,
    starts: date,
    student: Student | None,
    people: dict[str, int],
) -> Callable[[], None]:
    def write() -> None:
        nonlocal student
        if student is None:
            student = Student(
                family_name=family,
                given_name=given,
                middle_name=middle or None,
                birth_date=born,
                snils_index=index,
                person_id=people.get(index),
            )
            db.session.add(student)
        student.school_id = school.id
        student.enrolments.append(
            Enrolment(school_class=school_class, starts_on=starts, reason="admission")
        )

    return write
