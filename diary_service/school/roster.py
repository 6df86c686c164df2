"""Importing a school's roster from CSV: its classes, staff and students.

The file is a spreadsheet saved as CSV: a header row naming the columns (any order, see
``COLUMNS``), UTF-8 with or without a byte-order mark, values separated by ``;`` (as
Excel in Russia saves) or ``,``. Every line is checked before anything is written; then
all of it is written in one transaction. A single bad line and nothing is written: the
report names every bad line with its number and what is wrong, in the reader's language.
SNILS numbers are kept only as their blind index and never appear in the report.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from diary_service.auth.models import DiaryPerson
from diary_service.extensions import db
from diary_service.school import services
from diary_service.school.models import (
    AcademicYear,
    Enrolment,
    School,
    SchoolClass,
    StaffMember,
    StaffRole,
    Student,
    full_name,
)
from shared.errors import ValidationError
from shared.validators import is_ascii_number

KINDS = ("students", "staff", "classes")
# The columns of each kind: (name, required).
COLUMNS: dict[str, tuple[tuple[str, bool], ...]] = {
    "classes": (("grade", True), ("letter", True), ("class_teacher_snils", False)),
    "staff": (
        ("family_name", True),
        ("given_name", True),
        ("middle_name", False),
        ("snils", True),
        ("roles", True),
        ("position", False),
    ),
    "students": (
        ("family_name", True),
        ("given_name", True),
        ("middle_name", False),
        ("birth_date", True),
        ("snils", True),
        ("class", True),
        ("admission_date", False),
    ),
}
# The columns as a Russian school's spreadsheet names them: the templates use these, and
# a file may name its columns either way (the English names are the older format).
RUSSIAN_NAMES: dict[str, str] = {
    "grade": "параллель",
    "letter": "буква",
    "class_teacher_snils": "снилс классного руководителя",
    "family_name": "фамилия",
    "given_name": "имя",
    "middle_name": "отчество",
    "snils": "снилс",
    "roles": "роли",
    "position": "должность",
    "birth_date": "дата рождения",
    "class": "класс",
    "admission_date": "дата зачисления",
}
FROM_RUSSIAN = {russian: name for name, russian in RUSSIAN_NAMES.items()}
DATE_FORMATS = ("%d.%m.%Y", "%Y-%m-%d")
# A school's roster is a few thousand lines at most; more is a wrong file.
MAX_BYTES = 2 * 1024 * 1024
MAX_LINES = 5000
NAME_LENGTH = 100

Progress = Callable[[int], Any]


@dataclass
class Line:
    """One line of the file: its number (the header is line 1), its values by column,
    what it is («7Б», a name) and what is wrong with it."""

    number: int
    values: dict[str, str]
    label: str = ""
    errors: list[Any] = field(default_factory=list)

    def get(self, column: str) -> str:
        return (self.values.get(column) or "").strip()

    def problem(self, column: str, message: Any) -> None:
        self.errors.append(_l("«%(column)s»: %(problem)s", column=column, problem=message))


@dataclass
class Report:
    """What an import found and did: the lines, problems of the file as a whole, and how
    many rows were written (0 unless all of them were)."""

    kind: str
    lines: list[Line]
    file_errors: list[Any] = field(default_factory=list)
    written: int = 0

    @property
    def bad_lines(self) -> list[Line]:
        return [line for line in self.lines if line.errors]

    @property
    def ok(self) -> bool:
        return not self.file_errors and not self.bad_lines


class RosterRejected(ValidationError):
    """Nothing was imported; ``report`` says why, line by line."""

    def __init__(self, report: Report) -> None:
        self.report = report
        bad = len(report.bad_lines)
        if bad:
            message = ngettext(
                "Nothing was imported: %(num)d line has errors.",
                "Nothing was imported: %(num)d lines have errors.",
                bad,
            )
        else:
            message = _l("Nothing was imported: the file cannot be read.")
        super().__init__(message)


def template_csv(kind: str) -> bytes:
    """An empty file of the kind, header only, as Excel opens it (BOM, ``;``)."""
    names = (RUSSIAN_NAMES[name] for name, _required in COLUMNS[kind])
    return ("\ufeff" + ";".join(names) + "\r\n").encode()


def read_csv(kind: str, data: bytes) -> Report:
    """Split the file into lines by column; problems of the file and its header go in the
    report (with an empty ``lines`` list when the lines cannot be read at all)."""
    report = Report(kind=kind, lines=[])
    if len(data) > MAX_BYTES:
        report.file_errors.append(
            _l("The file is larger than %(size)s MB.", size=MAX_BYTES // 1024 // 1024)
        )
        return report
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        report.file_errors.append(
            _l("The file is not in UTF-8. In Excel, save it as «CSV UTF-8 (comma delimited)».")
        )
        return report
    first = next((line for line in text.splitlines() if line.strip()), "")
    if not first:
        report.file_errors.append(_l("The file is empty."))
        return report
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        written = [
            " ".join(name.strip().lower().replace("ё", "е").split()) for name in next(reader)
        ]
        russian = any(name in FROM_RUSSIAN for name in written)
        header = [FROM_RUSSIAN.get(name, name) for name in written]
        header_line = Line(number=reader.line_num, values={})
        _check_header(kind, header, header_line, russian)
        if header_line.errors:
            report.lines.append(header_line)
            return report
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(report.lines) >= MAX_LINES:
                report.file_errors.append(
                    _l("The file has more than %(max)s lines; split it.", max=MAX_LINES)
                )
                return report
            line = Line(number=reader.line_num, values=dict(zip(header, row, strict=False)))
            if len(row) > len(header):
                line.errors.append(_l("The line has more values than the header has columns."))
            report.lines.append(line)
    except csv.Error:
        report.file_errors.append(
            _l("Line %(number)s: the quotes do not match.", number=reader.line_num)
        )
    if not report.lines and not report.file_errors:
        report.file_errors.append(_l("The file has a header but no lines."))
    return report


def _check_header(kind: str, header: list[str], line: Line, russian: bool = False) -> None:
    """The header's problems, naming the columns as the file does (Russian or English)."""
    known = {name for name, _required in COLUMNS[kind]}

    def title(name: str) -> str:
        return RUSSIAN_NAMES.get(name, name) if russian else name

    for name in header:
        if name not in known:
            line.errors.append(
                _l(
                    "Unknown column «%(name)s». The columns are: %(columns)s.",
                    name=name,
                    columns=", ".join(title(n) for n, _r in COLUMNS[kind]),
                )
            )
        elif header.count(name) > 1:
            line.errors.append(_l("The column «%(name)s» appears twice.", name=title(name)))
    for name, required in COLUMNS[kind]:
        if required and name not in header:
            line.errors.append(_l("The column «%(name)s» is missing.", name=title(name)))


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
    today = date.today()
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
