"""Reading a roster file: the kinds and their columns, the CSV read into numbered lines
(UTF-8 with or without a byte-order mark, ';' or ','), the header checked, and the
report every bad line goes into."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from shared.errors import ValidationError

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
        written = [" ".join(name.strip().lower().split()) for name in next(reader)]
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
