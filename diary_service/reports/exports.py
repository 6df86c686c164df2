"""The reports as files: CSV for Excel as it is set up in Russia (UTF-8 with a byte
order mark, ``;`` between cells, the decimal comma of the reader's language) and XLSX
(a sheet per table, a bold header row, columns wide enough to read).

A report becomes a list of ``Table``s here; the same tables make either file."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from urllib.parse import quote

from babel.numbers import get_decimal_symbol, get_minus_sign_symbol
from flask import Response
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from diary_service.models.journal import ATTENDANCE_CODES
from diary_service.reports.base import Figures, period_name
from diary_service.reports.class_report import ClassReport
from diary_service.reports.region import RegionReport
from diary_service.reports.school_report import SchoolReport

Value = str | int | Decimal | None

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# What each attendance code means, for legends and column headers.
CODE_LABELS = {
    "н": _l("absent, no reason given"),
    "б": _l("absent, ill"),
    "у": _l("absent for a good reason"),
    "оп": _l("came late"),
}
MARK_LABELS = {"pass": _l("P (pass)"), "fail": _l("F (fail)")}
# A cell starting with one of these is a formula to Excel: a name or a topic must never
# run as one (CSV injection), so such text is prefixed with an apostrophe.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_WIDTH = 60
SHEET_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list[Value]] = field(default_factory=list)


def mark_label(value: str | None) -> str:
    if value is None:
        return ""
    label = MARK_LABELS.get(value)
    return str(label) if label is not None else value


def _safe(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_START) else text


def _places(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _number_format(value: Decimal) -> str:
    places = _places(value)
    return "0." + "0" * places if places else "0"


@lru_cache(maxsize=32)
def _symbols(locale: str) -> tuple[str, str]:
    return get_decimal_symbol(locale), get_minus_sign_symbol(locale)


def number_formatter() -> Callable[[Decimal | int], str]:
    """``number`` for the current language, its signs looked up once (a page of 2 400
    numbers looks them up once, not per number)."""
    locale = get_locale()
    if locale is None:
        return lambda value: (
            format_decimal(value, format=_number_format(value))
            if isinstance(value, Decimal)
            else str(value)
        )
    decimal, minus = _symbols(str(locale))

    def formatted(value: Decimal | int) -> str:
        if not isinstance(value, Decimal):
            return str(value)
        if not value.is_finite():
            return format_decimal(value, format=_number_format(value))
        return format(value, "f").replace("-", minus).replace(".", decimal)

    return formatted


def number(value: Decimal | int) -> str:
    """A number in the reader's language, with the places it was rounded to: the
    decimal comma in Russian (so Excel in Russia reads a CSV cell as a number).

    What ``format_decimal`` with the pattern ``0.00`` (as many places as the value has)
    writes, without its cost: the pattern has no grouping, so the text is the value's
    digits with the language's decimal and minus signs. Babel parses the pattern and
    the locale on every call (about 40 µs): the dashboard shows 2 400 numbers, 100 ms
    of its time (tests hold the two equal)."""
    return number_formatter()(value)


def _csv_value(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return number(value)
    if isinstance(value, int):
        return str(value)
    return _safe(value)


def csv_file(tables: list[Table]) -> bytes:
    """The tables one under another, each under its title, an empty row between."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    for index, table in enumerate(tables):
        if index:
            writer.writerow([])
        writer.writerow([_safe(table.title)])
        writer.writerow([_safe(header) for header in table.headers])
        for row in table.rows:
            writer.writerow([_csv_value(value) for value in row])
    # The byte order mark tells Excel the file is UTF-8 (it assumes cp1251 otherwise).
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _sheet_title(title: str, used: set[str]) -> str:
    base = SHEET_TITLE_FORBIDDEN.sub(" ", title).strip()[:28] or "Sheet"
    candidate, n = base, 1
    while candidate.lower() in used:
        n += 1
        candidate = f"{base[:25]} {n}"
    used.add(candidate.lower())
    return candidate


def xlsx_file(tables: list[Table]) -> bytes:
    """A sheet per table: the header row in bold and frozen, numbers as numbers."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    used: set[str] = set()
    bold = Font(bold=True)
    for table in tables:
        sheet = workbook.create_sheet(_sheet_title(table.title, used))
        widths = [len(header) for header in table.headers]
        sheet.append(table.headers)
        for cell in sheet[1]:
            cell.font = bold
        for row in table.rows:
            sheet.append([_safe(v) if isinstance(v, str) else v for v in row])
            for column, value in enumerate(row):
                if column >= len(widths):
                    widths.append(0)
                shown = _csv_value(value) if value is not None else ""
                widths[column] = max(widths[column], len(shown))
                if isinstance(value, Decimal):
                    cell = sheet.cell(row=sheet.max_row, column=column + 1)
                    cell.number_format = _number_format(value)
                elif isinstance(value, str):
                    # Text stays text even when it looks like a formula.
                    sheet.cell(row=sheet.max_row, column=column + 1).data_type = "s"
        for column, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(column)].width = min(width + 2, MAX_WIDTH)
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


ASCII_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def download(tables: list[Table], kind: str, ascii_name: str, name: str) -> Response:
    """The file as an attachment: ``filename`` ASCII for old clients, ``filename*``
    (RFC 5987/6266) with the readable name."""
    if kind == "xlsx":
        response = Response(xlsx_file(tables), mimetype=XLSX_TYPE)
    else:
        response = Response(csv_file(tables), content_type=CSV_TYPE)
    plain = ASCII_UNSAFE.sub("-", f"{ascii_name}.{kind}")
    readable = quote(f"{name}.{kind}", safe="")
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{plain}\"; filename*=UTF-8''{readable}"
    )
    return response


def percent_header(label: str) -> str:
    return f"{label}, %"


def _rates(figures: Figures) -> list[Value]:
    return [figures.average, figures.quality_rate, figures.success_rate]


def _rate_headers() -> list[str]:
    return [
        _("Average mark"),
        percent_header(_("Quality")),
        percent_header(_("Success rate")),
    ]


def _missed(figures: Figures) -> list[Value]:
    return [figures.missed[code] for code in ATTENDANCE_CODES]


def _missed_headers() -> list[str]:
    return [f"{code} ({CODE_LABELS[code]})" for code in ATTENDANCE_CODES]


# --- the class -------------------------------------------------------------------------


def class_tables(report: ClassReport) -> list[Table]:
    subjects = Table(
        title=_("Subjects"),
        headers=[_("Subject"), *_rate_headers(), _("Students assessed")],
    )
    for subject in report.subjects:
        figures = report.by_subject.get(subject.id, Figures())
        subjects.rows.append([subject.name, *_rates(figures), figures.assessed])
    subjects.rows.append([_("Whole class"), *_rates(report.total), report.total.assessed])
    headers = [_("Student")]
    for subject in report.subjects:
        headers += [
            _("%(subject)s: average", subject=subject.name),
            _("%(subject)s: period mark", subject=subject.name),
        ]
    headers += [_("Average mark")]
    if report.rating_enabled:
        headers += [_("Place")]
    headers += [_("Lessons missed"), percent_header(_("Attended"))]
    students = Table(title=_("Students"), headers=headers)
    for row in report.students:
        values: list[Value] = [row.student.full_name]
        for subject in report.subjects:
            cell = row.cells.get(subject.id)
            values += [cell.average, mark_label(cell.mark)] if cell else [None, None]
        values.append(row.average)
        if report.rating_enabled:
            values.append(row.place)
        values += [row.attendance.absent, row.attendance.attended_rate]
        students.rows.append(values)
    total = report.total
    attendance = Table(
        title=_("Attendance"),
        headers=[
            _("Students"),
            _("Lessons × students"),
            *_missed_headers(),
            percent_header(_("Attended")),
        ],
        rows=[[total.students, total.student_lessons, *_missed(total), total.attended_rate]],
    )
    return [subjects, students, attendance]


def class_file_names(report: ClassReport) -> tuple[str, str]:
    period = report.period
    ascii_name = f"class-{report.school_class.id}-{period.year.starts_on.year}-p{period.number}"
    name = _(
        "Report %(class)s %(period)s",
        **{"class": report.school_class.name, "period": period_name(period)},
    )
    return ascii_name, name.replace("/", "-")


# --- the school ------------------------------------------------------------------------


def school_tables(report: SchoolReport) -> list[Table]:
    classes = Table(
        title=_("Classes"),
        headers=[
            _("Class"),
            _("Students"),
            _("Students assessed"),
            *_rate_headers(),
            *_missed_headers(),
            percent_header(_("Attended")),
        ],
    )
    for school_class, figures in [*report.classes, (None, report.total)]:
        label = school_class.name if school_class is not None else _("Whole school")
        classes.rows.append(
            [
                label,
                figures.students,
                figures.assessed,
                *_rates(figures),
                *_missed(figures),
                figures.attended_rate,
            ]
        )
    subjects = Table(
        title=_("Subjects"),
        headers=[
            _("Subject"),
            _("Students assessed"),
            *_rate_headers(),
            percent_header(_("Attended")),
        ],
    )
    for subject, figures in report.subjects:
        subjects.rows.append(
            [subject.name, figures.assessed, *_rates(figures), figures.attended_rate]
        )
    teachers = Table(
        title=_("Journal completeness"),
        headers=[
            _("Teacher"),
            _("Lessons given"),
            _("With a topic"),
            percent_header(_("With a topic")),
            _("With homework"),
            percent_header(_("With homework")),
            _("Without marks"),
            percent_header(_("Completeness")),
        ],
    )
    for member, figures in [*report.teachers, (None, report.total)]:
        teachers.rows.append(
            [
                member.full_name if member is not None else _("Whole school"),
                figures.lessons,
                figures.with_topic,
                figures.topic_rate,
                figures.with_homework,
                figures.homework_rate,
                figures.without_marks,
                figures.completeness,
            ]
        )
    return [classes, subjects, teachers]


def school_file_names(report: SchoolReport) -> tuple[str, str]:
    period = report.period
    ascii_name = f"school-{report.school.id}-{period.year.starts_on.year}-p{period.number}"
    name = _(
        "Report %(school)s %(period)s",
        school=report.school.short_name or report.school.name,
        period=period_name(period),
    )
    return ascii_name, name.replace("/", "-")


# --- the region ------------------------------------------------------------------------


def region_tables(report: RegionReport) -> list[Table]:
    table = Table(
        title=_("Schools"),
        headers=[
            _("Municipality"),
            _("School"),
            _("Period"),
            _("Students"),
            *_rate_headers(),
            percent_header(_("Attended")),
            percent_header(_("Journal completeness")),
        ],
    )

    def line(municipality: str, school: str, period: str, figures: Figures) -> list[Value]:
        return [
            municipality,
            school,
            period,
            figures.students,
            *_rates(figures),
            figures.attended_rate,
            figures.completeness,
        ]

    for block in report.municipalities:
        for item in block.schools:
            period = period_name(item.period) if item.period is not None else ""
            table.rows.append(line(block.municipality.name, item.school.name, period, item.figures))
        table.rows.append(line(block.municipality.name, _("Municipality total"), "", block.total))
    table.rows.append(line(_("Whole region"), "", "", report.total))
    return [table]


def region_file_names(report: RegionReport) -> tuple[str, str]:
    return (
        f"region-p{report.period_number}",
        _("Region report, period %(number)d", number=report.period_number),
    )
