"""HTTP of the journal room: the teacher's front page, the grid of a class and subject,
a lesson's page (topic, homework and its files, the bulk form of marks and attendance,
remarks to parents), the history of a mark, an attendance record or a final mark, and
the period and year marks of a class.

Who may do what: reading a class's journal of a subject is ``access.can_view_journal``;
writing a lesson is ``access.can_write_journal`` (its teacher, or that lesson's
substitute); final marks are ``access.can_set_final_marks``; histories and homework
files are open to the student's family as well (``access.can_view_lesson_record``,
``access.can_view_final_mark``, ``access.can_download_attachment``)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from io import BytesIO
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _

import diary_service.clock as clock
from diary_service.access import (
    Viewer,
    can_download_attachment,
    can_set_final_marks,
    can_view_final_mark,
    can_view_journal,
    can_view_lesson_record,
    can_write_journal,
    require,
)
from diary_service.access.log import record_access
from diary_service.auth.current import current_viewer, login_required
from diary_service.journal import forms, services
from diary_service.journal.queries import current_policy, rule_of
from diary_service.models.journal import ATTENDANCE_CODES, Lesson
from diary_service.models.school import StaffMember
from shared.errors import NotFound, ValidationError
from shared.validators import parse_iso_date
from shared.web import int_arg

bp = Blueprint("journal", __name__)

DEFAULT_MAX_UPLOAD = 10 * 1024 * 1024


def _once_per_page(label: Callable[[str], str]) -> Callable[[str], str]:
    """``label`` remembered for the page being rendered: a grid asks the same few words
    (a mark's kind, an absence's code) for every cell, each a catalog look-up."""
    return functools.cache(label)


@bp.context_processor
def journal_words() -> dict[str, Any]:
    return {
        "kind_label": _once_per_page(services.kind_label),
        "mark_label": _once_per_page(services.mark_label),
        "attendance_label": _once_per_page(services.attendance_label),
        "remark_label": _once_per_page(services.remark_label),
        "period_label": services.period_label,
        "attendance_codes": ATTENDANCE_CODES,
    }


def _author(viewer: Viewer, school_id: int) -> StaffMember | None:
    return viewer.staff_at(school_id)


@bp.get("/journal/")
@login_required
def index():
    viewer = current_viewer()
    require(viewer.is_staff)
    today = clock.today()
    overview = services.journal_overview(viewer, today)
    return render_template("journal/index.html", overview=overview, today=today)


@bp.get("/journal/<int:class_id>/<int:subject_id>")
@login_required
def grid(class_id: int, subject_id: int):
    school_class = services.get_class(class_id)
    subject = services.get_subject(subject_id)
    viewer = current_viewer()
    require(can_view_journal(viewer, school_class, subject.id))
    today = clock.today()
    period = services.get_period(school_class, int_arg("period"), today)
    found = services.journal_grid(school_class, subject, period, today)
    student_ids = [row.member.student.id for row in found.rows]
    # The column a mark is typed into: the lesson asked for, else the latest one that
    # has taken place (today's, on a school day); the teacher's own lessons only.
    asked = int_arg("lesson")
    taken = [c for c in found.columns if c.on_date <= today and not c.cancelled]
    entry = next((c for c in taken if c.lesson and c.lesson.id == asked), None) or (
        taken[-1] if taken else None
    )
    if entry is not None and not can_write_journal(
        viewer, school_class, subject.id, entry.on_date, entry.lesson_number
    ):
        entry = None
    rule = found.rule
    page = render_template(
        "journal/grid.html",
        grid=found,
        today=today,
        entry=entry,
        kinds=forms.kind_choices(rule),
        default_kind=services.DEFAULT_KIND,
        attendance_choices=forms.attendance_choices(),
    )
    # Logged after rendering: the log's commit would make the page reload every student.
    record_access(viewer, student_ids, "journal")
    return page


def _slot(class_id: int, subject_id: int, day: str, number: int):
    school_class = services.get_class(class_id)
    viewer = current_viewer()
    require(can_view_journal(viewer, school_class, subject_id))
    try:
        on = parse_iso_date(day)
    except ValueError:
        raise NotFound() from None
    return school_class, services.get_subject(subject_id), on, viewer


@bp.get("/journal/<int:class_id>/<int:subject_id>/on/<day>/<int:number>")
@login_required
def plan_lesson(class_id: int, subject_id: int, day: str, number: int):
    """A timetable slot: its lesson if opened; otherwise a page with the button that
    opens it (a GET creates nothing)."""
    school_class, subject, on, viewer = _slot(class_id, subject_id, day, number)
    lesson = services.lesson_at(school_class, subject.id, on, number)
    if lesson is not None:
        return redirect(url_for(".lesson", lesson_id=lesson.id))
    slot = services.slot_of(school_class, subject.id, on, number)
    return render_template(
        "journal/plan.html",
        school_class=school_class,
        subject=subject,
        slot=slot,
        may_write=can_write_journal(viewer, school_class, subject.id, on, number),
    )


@bp.post("/journal/<int:class_id>/<int:subject_id>/on/<day>/<int:number>")
@login_required
def open_lesson(class_id: int, subject_id: int, day: str, number: int):
    """Open the slot's lesson (create its row) and go to it: its teacher or that day's
    substitute."""
    school_class, subject, on, viewer = _slot(class_id, subject_id, day, number)
    require(can_write_journal(viewer, school_class, subject.id, on, number))
    lesson = services.lesson_for_slot(school_class, subject.id, on, number)
    if request.form.get("back") == "grid":
        return redirect(_grid_place(lesson))
    return redirect(url_for(".lesson", lesson_id=lesson.id))


def _grid_place(lesson: Lesson) -> str:
    """The grid with ``lesson``'s column open for entry, scrolled to the confirmation
    above it (``#saved``, which the page focuses)."""
    period = services.get_period(lesson.school_class, None, lesson.on_date)
    return url_for(
        ".grid",
        class_id=lesson.class_id,
        subject_id=lesson.subject_id,
        period=period.id,
        lesson=lesson.id,
        _anchor="saved",
    )


def _open_lesson(lesson_id: int) -> tuple[Lesson, Viewer, bool]:
    lesson = services.get_lesson(lesson_id)
    viewer = current_viewer()
    require(can_view_journal(viewer, lesson.school_class, lesson.subject_id))
    may_write = can_write_journal(
        viewer, lesson.school_class, lesson.subject_id, lesson.on_date, lesson.lesson_number
    )
    return lesson, viewer, may_write


def _lesson_page(
    lesson: Lesson,
    may_write: bool,
    *,
    sheet: services.LessonSheet | None = None,
    lesson_form: forms.LessonForm | None = None,
    marks_form: forms.MarksForm | None = None,
    remark_form: forms.RemarkForm | None = None,
    status: int = 200,
):
    sheet = sheet or services.lesson_sheet(lesson)
    homework = lesson.homework
    next_date = services.next_lesson_date(lesson.school_class, lesson.subject_id, lesson.on_date)
    if lesson_form is None:
        lesson_form = forms.LessonForm(
            formdata=None,
            topic=lesson.topic,
            homework=homework.text if homework else "",
            due_on=homework.due_on if homework and homework.due_on else next_date,
        )
    if marks_form is None:
        rule = rule_of(current_policy(lesson.school_class.school_id))
        marks_form = forms.marks_form(sheet, rule, formdata=None)
    if remark_form is None:
        remark_form = forms.remark_form(sheet, formdata=None)
    previous, following = services.neighbour_lessons(lesson)
    return render_template(
        "journal/lesson.html",
        lesson=lesson,
        sheet=sheet,
        may_write=may_write,
        taken_place=lesson.on_date <= clock.today(),
        lesson_form=lesson_form,
        marks_form=marks_form,
        remark_form=remark_form,
        previous=previous,
        following=following,
    ), status


@bp.get("/journal/lessons/<int:lesson_id>")
@login_required
def lesson(lesson_id: int):
    found, viewer, may_write = _open_lesson(lesson_id)
    sheet = services.lesson_sheet(found)
    student_ids = [row.student.id for row in sheet.rows]
    page = _lesson_page(found, may_write, sheet=sheet)
    record_access(viewer, student_ids, "lesson")
    return page


@bp.post("/journal/lessons/<int:lesson_id>")
@login_required
def save_lesson(lesson_id: int):
    found, viewer, may_write = _open_lesson(lesson_id)
    require(may_write)
    form = forms.LessonForm()
    if form.validate_on_submit():
        try:
            services.save_lesson_plan(
                _author(viewer, found.school_class.school_id),
                found.id,
                form.topic.data or "",
                form.homework.data or "",
                form.due_on.data,
                form.uploads(),
                max_size=current_app.config.get("MAX_CONTENT_LENGTH") or DEFAULT_MAX_UPLOAD,
            )
        except ValidationError as error:
            form.form_errors.append(error.message)
        else:
            flash(_("The topic and homework are saved."), "info")
            return redirect(url_for(".lesson", lesson_id=found.id))
    return _lesson_page(found, may_write, lesson_form=form, status=400)


@bp.post("/journal/lessons/<int:lesson_id>/marks")
@login_required
def save_marks(lesson_id: int):
    found, viewer, may_write = _open_lesson(lesson_id)
    require(may_write)
    sheet = services.lesson_sheet(found)
    rule = rule_of(current_policy(found.school_class.school_id))
    form = forms.marks_form(sheet, rule)
    if form.validate_on_submit():
        try:
            recorded = services.record_lesson_entries(
                _author(viewer, found.school_class.school_id),
                found.id,
                forms.student_entries(form, sheet),
            )
        except services.EntryErrors as error:
            forms.show_problems(form, error.problems)
        except ValidationError as error:
            form.form_errors.append(error.message)
        else:
            changed = recorded.marks or recorded.deleted or recorded.attendance
            flash(
                _("Marks and attendance are saved.") if changed else _("Nothing was changed."),
                "info",
            )
            if request.form.get("back") == "grid":
                return redirect(_grid_place(found))
            return redirect(url_for(".lesson", lesson_id=found.id, _anchor="marks"))
    return _lesson_page(found, may_write, sheet=sheet, marks_form=form, status=400)


@bp.post("/journal/lessons/<int:lesson_id>/remarks")
@login_required
def add_remark(lesson_id: int):
    found, viewer, may_write = _open_lesson(lesson_id)
    require(may_write)
    sheet = services.lesson_sheet(found)
    form = forms.remark_form(sheet)
    if form.validate_on_submit():
        try:
            services.add_remark(
                _author(viewer, found.school_class.school_id),
                found.id,
                form.student.data,
                form.kind.data,
                form.text.data or "",
            )
        except ValidationError as error:
            form.form_errors.append(error.message)
        else:
            flash(_("The remark is added; the parents will see it."), "info")
            return redirect(url_for(".lesson", lesson_id=found.id, _anchor="remarks"))
    return _lesson_page(found, may_write, sheet=sheet, remark_form=form, status=400)


@bp.get("/journal/attachments/<int:attachment_id>")
@login_required
def attachment(attachment_id: int):
    found = services.get_attachment(attachment_id)
    require(can_download_attachment(current_viewer(), found))
    response = send_file(
        BytesIO(found.data),
        mimetype=found.content_type,
        as_attachment=True,
        download_name=found.filename,
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/journal/attachments/<int:attachment_id>/delete")
@login_required
def delete_attachment(attachment_id: int):
    found = services.get_attachment(attachment_id)
    lesson_id = found.homework.lesson_id
    found_lesson, viewer, may_write = _open_lesson(lesson_id)
    require(may_write)  # the CSRF token is checked for every POST by CSRFProtect
    services.delete_attachment(_author(viewer, found_lesson.school_class.school_id), found.id)
    flash(_("The file is removed."), "info")
    return redirect(url_for(".lesson", lesson_id=lesson_id))


def _entry_history(versions: list, what: str, section: str):
    """A mark's or an attendance mark's versions, for whoever may read that lesson record."""
    first = versions[0]
    require(can_view_lesson_record(current_viewer(), first.lesson, first.student, section))
    record_access(current_viewer(), [first.student_id], "history")
    return render_template(
        "journal/history.html",
        what=what,
        versions=versions,
        student=first.student,
        lesson=first.lesson,
        subject=first.lesson.subject,
    )


@bp.get("/journal/marks/<int:mark_id>/history")
@login_required
def mark_history(mark_id: int):
    return _entry_history(services.mark_history(mark_id), "mark", "marks")


@bp.get("/journal/attendance/<int:attendance_id>/history")
@login_required
def attendance_history(attendance_id: int):
    return _entry_history(services.attendance_history(attendance_id), "attendance", "attendance")


@bp.get("/journal/final-marks/<int:final_id>/history")
@login_required
def final_mark_history(final_id: int):
    versions = services.final_mark_history(final_id)
    first = versions[0]
    require(can_view_final_mark(current_viewer(), first))
    record_access(current_viewer(), [first.student_id], "history")
    return render_template(
        "journal/history.html",
        what="final",
        versions=versions,
        student=first.student,
        lesson=None,
        subject=first.subject,
    )


@bp.route("/journal/<int:class_id>/<int:subject_id>/final", methods=["GET", "POST"])
@login_required
def final_marks(class_id: int, subject_id: int):
    school_class = services.get_class(class_id)
    subject = services.get_subject(subject_id)
    viewer = current_viewer()
    require(can_view_journal(viewer, school_class, subject.id))
    period = services.get_period(school_class, int_arg("period"), clock.today())
    may_set = can_set_final_marks(viewer, school_class, subject.id)
    if request.method == "POST":
        require(may_set)
    sheet = services.final_sheet(school_class, subject, period)
    form = forms.final_marks_form(sheet) if may_set else None
    status = 200
    if form is not None and request.method == "POST":
        if form.validate_on_submit():
            try:
                services.set_final_marks(
                    _author(viewer, school_class.school_id),
                    school_class.id,
                    subject.id,
                    period.id,
                    forms.final_entries(form, sheet),
                )
            except services.EntryErrors as error:
                forms.show_final_problems(form, error.problems)
            else:
                flash(_("Period and year marks are saved."), "info")
                return redirect(
                    url_for(
                        ".final_marks",
                        class_id=school_class.id,
                        subject_id=subject.id,
                        period=period.id,
                    )
                )
        status = 400
    student_ids = [row.member.student.id for row in sheet.rows]
    page = render_template("journal/final.html", sheet=sheet, form=form, may_set=may_set)
    record_access(viewer, student_ids, "final")
    return page, status
