"""HTTP of the reports room: the class, school and region reports, their CSV and XLSX
files, a student's own place in the class rating and the printable class journal.

Who may open what is decided by ``diary_service.access``: class reports for the class
teacher, the class's subject teachers and the school's administrators; school reports
for its administrators and the department; the region for the department only; a
student's place for the student and their guardians."""

from __future__ import annotations

from flask import Blueprint, render_template, request

import diary_service.clock as clock
from diary_service.access import (
    can_view_class_reports,
    can_view_region,
    can_view_school_reports,
    reach_of,
    require,
)
from diary_service.access.log import record_access
from diary_service.auth.current import current_viewer, login_required
from diary_service.extensions import db
from diary_service.models.school import Period, School, SchoolClass, Student, Subject
from diary_service.reports import exports, maintained, services
from diary_service.reports.forms import PeriodForm, RegionPeriodForm
from shared.errors import NotFound

bp = Blueprint("reports", __name__)


@bp.context_processor
def report_helpers() -> dict:
    return {
        "period_name": services.period_name,
        "code_labels": exports.CODE_LABELS,
        "mark_label": exports.mark_label,
        "report_number": exports.number_formatter(),
    }


def _get(model: type, ident: int):
    found = db.session.get(model, ident)
    if found is None:
        raise NotFound()
    return found


def _period_form(periods: list[Period]) -> PeriodForm:
    """The ``?period=`` of the page; not a number → 404 (a wrong id is 404 too, by the
    service that looks it up)."""
    form = PeriodForm(request.args)
    form.period.choices = [(period.id, services.period_name(period)) for period in periods]
    if not form.validate():
        raise NotFound()
    return form


def _class_and_period(class_id: int) -> tuple[SchoolClass, Period, PeriodForm]:
    school_class = _get(SchoolClass, class_id)
    require(can_view_class_reports(current_viewer(), school_class))
    form = _period_form(school_class.year.periods)
    period = services.class_period(school_class, form.period.data, clock.today())
    form.period.data = period.id
    return school_class, period, form


def _school_and_period(school_id: int) -> tuple[School, Period, PeriodForm]:
    school = _get(School, school_id)
    require(can_view_school_reports(current_viewer(), school.id))
    form = PeriodForm(request.args)
    if not form.validate():
        raise NotFound()
    period = services.school_period(school, form.period.data, clock.today())
    form.period.choices = [(p.id, services.period_name(p)) for p in period.year.periods]
    form.period.data = period.id
    return school, period, form


@bp.get("/reports/")
@login_required
def index():
    return render_template(
        "reports/index.html", overview=services.overview(current_viewer(), clock.today())
    )


@bp.get("/reports/classes/<int:class_id>")
@login_required
def class_report(class_id: int):
    school_class, period, form = _class_and_period(class_id)
    report = services.class_report(school_class, period, clock.today())
    student_ids = [row.student.id for row in report.students]
    page = render_template("reports/class.html", report=report, form=form)
    # Logged after rendering: the log's commit would make the page reload every student.
    record_access(current_viewer(), student_ids, "report")
    return page


@bp.get("/reports/classes/<int:class_id>.<any(csv, xlsx):kind>")
@login_required
def class_export(class_id: int, kind: str):
    school_class, period, _form = _class_and_period(class_id)
    report = services.class_report(school_class, period, clock.today())
    student_ids = [row.student.id for row in report.students]
    response = exports.download(
        exports.class_tables(report), kind, *exports.class_file_names(report)
    )
    record_access(current_viewer(), student_ids, "report_export")
    return response


@bp.get("/reports/classes/<int:class_id>/<int:subject_id>/print")
@login_required
def class_print(class_id: int, subject_id: int):
    school_class, period, form = _class_and_period(class_id)
    subject = _get(Subject, subject_id)
    sheet = services.journal_sheet(school_class, subject, period)
    student_ids = [row.student.id for row in sheet.rows]
    page = render_template("reports/print.html", sheet=sheet, form=form)
    record_access(current_viewer(), student_ids, "report_print")
    return page


@bp.get("/reports/students/<int:student_id>/rating")
@login_required
def student_rating(student_id: int):
    student = _get(Student, student_id)
    viewer = current_viewer()
    reach = reach_of(viewer, student)
    require("marks" in reach.sections)
    record_access(viewer, [student.id], "rating")
    form = PeriodForm(request.args)
    if not form.validate():
        raise NotFound()
    place = services.student_place(student, form.period.data, clock.today(), reach)
    return render_template(
        "reports/rating.html",
        student=student,
        place=place,
        is_self=student.id in viewer.own_student_ids,
    )


@bp.get("/reports/schools/<int:school_id>")
@login_required
def school_report(school_id: int):
    school, period, form = _school_and_period(school_id)
    report = maintained.school_report(school, period, clock.today())
    return render_template("reports/school.html", report=report, form=form)


@bp.get("/reports/schools/<int:school_id>.<any(csv, xlsx):kind>")
@login_required
def school_export(school_id: int, kind: str):
    school, period, _form = _school_and_period(school_id)
    report = maintained.school_report(school, period, clock.today())
    return exports.download(exports.school_tables(report), kind, *exports.school_file_names(report))


def _region() -> tuple[services.RegionReport, RegionPeriodForm]:
    require(can_view_region(current_viewer()))
    form = RegionPeriodForm(request.args)
    if not form.validate():
        raise NotFound()
    report = maintained.region_report(form.period_number.data, clock.today())
    form.period_number.choices = [(n, str(n)) for n in report.numbers]
    form.period_number.data = report.period_number
    return report, form


@bp.get("/reports/region")
@login_required
def region():
    report, form = _region()
    return render_template("reports/region.html", report=report, form=form)


@bp.get("/reports/region.<any(csv, xlsx):kind>")
@login_required
def region_export(kind: str):
    report, _form = _region()
    return exports.download(exports.region_tables(report), kind, *exports.region_file_names(report))
