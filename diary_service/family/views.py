"""HTTP of the family room: the students' and parents' diary pages, and the class
teacher's list of who has read the week."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from diary_service.access import can_lead_class, class_of, require
from diary_service.auth.current import current_person, current_viewer, login_required
from diary_service.family import services
from diary_service.family.forms import AcknowledgeForm, ClassWeekForm, WeekForm
from diary_service.journal.models import ATTENDANCE_CODES
from diary_service.school.models import Student
from shared.errors import ValidationError

bp = Blueprint("family", __name__)


def _page(template: str, student: Student, sections: frozenset[str], **context):
    """Render a student page with what every one of them shows: the child switcher, the
    student's class and the tabs the viewer may open."""
    viewer = current_viewer()
    return render_template(
        template,
        student=student,
        sections=sections,
        school_class=class_of(student),
        children=services.children_of(viewer),
        labels=_labels(),
        **context,
    )


def _labels() -> dict:
    return {
        "kinds": services.MARK_KIND_LABELS,
        "values": services.MARK_VALUE_WORDS,
        "attendance": services.ATTENDANCE_LABELS,
        "codes": ATTENDANCE_CODES,
        "remarks": services.REMARK_KIND_LABELS,
        "notices": services.NOTICE_KIND_LABELS,
        "averages": services.AVERAGE_LABELS,
        "for_kind": services.FOR_MARK_KIND,
    }


def _student_for(student_id: int, section: str) -> tuple[Student, frozenset[str]]:
    """The student (404 if none) and the viewer's sections of them; 403 without
    ``section``."""
    student = services.get_student(student_id)
    sections = services.sections_for(current_viewer(), student)
    require(section in sections)
    return student, sections


@bp.get("/students/")
@login_required
def index():
    children = services.children_of(current_viewer())
    if len(children) == 1:
        return redirect(url_for("family.week", student_id=children[0].student.id))
    return render_template("family/index.html", children=children, person=current_person())


@bp.get("/students/<int:student_id>/week")
@login_required
def week(student_id: int):
    student, sections = _student_for(student_id, "schedule")
    form = WeekForm(request.args)
    status = 200
    if not form.validate():
        status = 400
    day = form.date.data or date.today()
    return _week_page(student, sections, day, form), status


def _week_page(student: Student, sections: frozenset[str], day: date, form, ack_form=None):
    week = services.week_of(student, day, sections)
    viewer = current_viewer()
    can_ack = services.can_acknowledge(viewer, student) and week.monday <= date.today()
    ack_form = ack_form or AcknowledgeForm(formdata=None, week=week.monday)
    return _page(
        "family/week.html",
        student,
        sections,
        week=week,
        form=form,
        ack_form=ack_form if can_ack else None,
        mine=week.acknowledged_by(viewer.person.id if viewer.person else None),
    )


@bp.get("/students/<int:student_id>/week/print")
@login_required
def week_print(student_id: int):
    student, sections = _student_for(student_id, "schedule")
    form = WeekForm(request.args)
    day = form.date.data if form.validate() and form.date.data else date.today()
    return render_template(
        "family/week_print.html",
        student=student,
        school_class=class_of(student, day),
        week=services.week_of(student, day, sections),
        labels=_labels(),
    )


@bp.post("/students/<int:student_id>/acknowledge")
@login_required
def acknowledge(student_id: int):
    student = services.get_student(student_id)
    viewer = current_viewer()
    require(services.can_acknowledge(viewer, student))
    form = AcknowledgeForm()
    if form.validate():
        try:
            services.acknowledge(viewer.person.id, student, form.week.data, date.today())
        except ValidationError as error:
            flash(error.message, "error")
        else:
            flash(_("Thank you: the class teacher will see that you have read the week."), "info")
        return redirect(url_for("family.week", student_id=student.id, date=form.week.data))
    sections = services.sections_for(viewer, student)
    page = _week_page(student, sections, date.today(), WeekForm(formdata=None), form)
    return page, 400


@bp.get("/students/<int:student_id>/marks")
@login_required
def marks(student_id: int):
    student, sections = _student_for(student_id, "marks")
    period = services.choose_period(student, request.args.get("period", type=int), date.today())
    return _page(
        "family/marks.html",
        student,
        sections,
        page=services.marks_page(student, period, date.today()),
    )


@bp.get("/students/<int:student_id>/attendance")
@login_required
def attendance(student_id: int):
    student, sections = _student_for(student_id, "attendance")
    year = services.choose_year(student, request.args.get("year", type=int), date.today())
    return _page(
        "family/attendance.html",
        student,
        sections,
        page=services.attendance_page(student, year),
    )


@bp.get("/students/<int:student_id>/news")
@login_required
def news(student_id: int):
    student, sections = _student_for(student_id, "schedule")
    return _page(
        "family/news.html", student, sections, page=services.news_page(student, date.today())
    )


@bp.get("/classes/<int:class_id>/acknowledgements")
@login_required
def acknowledgements(class_id: int):
    school_class = services.get_class(class_id)
    require(can_lead_class(current_viewer(), school_class))
    form = ClassWeekForm(request.args)
    status = 200 if form.validate() else 400
    monday = services.monday_of(form.week.data or date.today())
    rows = services.class_acknowledgements(school_class, monday)
    return render_template(
        "family/acknowledgements.html",
        school_class=school_class,
        monday=monday,
        saturday=monday + timedelta(days=services.WEEK_LENGTH - 1),
        previous=monday - timedelta(days=7),
        next=monday + timedelta(days=7),
        rows=rows,
        form=form,
    ), status
