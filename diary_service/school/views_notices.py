"""HTTP of the school room, what changes through the year: timetable changes, notices
and parent meetings, the mark policy, the roster import and the health worker's
absences. The pages join the school blueprint (school.views), whose helpers they use."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from flask import Response, abort, request
from flask_babel import lazy_gettext as _l

import diary_service.clock as clock
from diary_service.access import (
    can_manage_school,
    can_view_school_attendance,
    require,
)
from diary_service.auth.current import current_viewer, login_required
from diary_service.models.journal import MARK_KINDS
from diary_service.models.school import (
    Notice,
    ParentMeeting,
    SchoolClass,
    TimetableChange,
)
from diary_service.school import forms, pages, roster, services
from diary_service.school.base import FormErrors
from diary_service.school.roster_csv import RUSSIAN_NAMES
from diary_service.school.views import MAX_ATTENDANCE_DAYS, bp
from shared.web import date_arg

# --- timetable changes, notices, meetings -------------------------------------------------


@bp.route("/school/<int:school_id>/changes", methods=["GET", "POST"])
@login_required
def changes(school_id: int):
    school = pages.school(school_id)
    on = date_arg("on", clock.today())
    form = forms.ChangeForm(on_date=on)
    form.class_id.choices = pages.class_choices(school.id)
    form.lesson_number.choices = forms.pairs(
        (n, str(n)) for n in services.lesson_numbers(school.id)
    )
    form.substitute_id.choices = pages.teacher_choices(school.id, "—")
    if form.validate_on_submit():
        try:
            school_class = pages.of_school(SchoolClass, form.class_id.data, school.id)
            services.add_change(
                school_class.id,
                form.on_date.data,
                form.lesson_number.data,
                form.kind.data,
                form.substitute_id.data,
                form.room.data,
                form.note.data,
                pages.actor(school.id),
            )
        except FormErrors as error:
            forms.show_errors(form, error)
        else:
            return pages.done(
                "school.changes", school_id=school.id, on=form.on_date.data.isoformat()
            )
    return pages.render(
        "changes",
        school,
        pages.status(form),
        on=on,
        rows=services.changes_on(school.id, on),
        form=form,
        kinds=forms.CHANGE_LABELS,
        weekday=forms.WEEKDAY_LABELS.get(on.isoweekday()),
    )


@bp.post("/school/<int:school_id>/changes/<int:change_id>/remove")
@login_required
def remove_change(school_id: int, change_id: int):
    change = pages.of_school(TimetableChange, change_id, school_id)
    on = change.on_date.isoformat()
    if forms.EmptyForm().validate_on_submit():
        services.remove_change(change.id)
    return pages.done("school.changes", school_id=school_id, on=on)


@bp.route("/school/<int:school_id>/notices", methods=["GET", "POST"])
@login_required
def notices(school_id: int):
    school = pages.school(school_id)
    form = forms.NoticeForm()
    form.class_id.choices = pages.class_choices(school.id, _l("the whole school"))
    done = pages.saved(
        form,
        lambda: services.add_notice(
            school.id,
            form.class_id.data,
            form.kind.data,
            form.title.data,
            form.body.data,
            form.starts_on.data,
            form.ends_on.data,
            pages.actor(school.id),
        ),
        lambda _: pages.done("school.notices", school_id=school.id),
    )
    if done:
        return done
    if request.method == "GET":
        form.starts_on.data = clock.today()
    return pages.render(
        "notices",
        school,
        pages.status(form),
        notices=services.notices_of(school.id),
        form=form,
        kinds=forms.NOTICE_LABELS,
    )


@bp.post("/school/<int:school_id>/notices/<int:notice_id>/remove")
@login_required
def remove_notice(school_id: int, notice_id: int):
    notice = pages.of_school(Notice, notice_id, school_id)
    if forms.EmptyForm().validate_on_submit():
        services.remove_notice(notice.id)
    return pages.done("school.notices", school_id=school_id)


@bp.route("/school/<int:school_id>/meetings", methods=["GET", "POST"])
@login_required
def meetings(school_id: int):
    school = pages.school(school_id)
    form = forms.MeetingForm()
    form.class_id.choices = pages.class_choices(school.id)
    done = pages.saved(
        form,
        lambda: services.add_meeting(
            school.id,
            form.class_id.data,
            form.held_at.data,
            form.place.data,
            form.agenda.data,
            pages.actor(school.id),
        ),
        lambda _: pages.done("school.meetings", school_id=school.id),
    )
    return done or pages.render(
        "meetings",
        school,
        pages.status(form),
        meetings=services.meetings_of(school.id),
        form=form,
        now=clock.now(),
    )


@bp.post("/school/<int:school_id>/meetings/<int:meeting_id>/remove")
@login_required
def remove_meeting(school_id: int, meeting_id: int):
    meeting = pages.of_school(ParentMeeting, meeting_id, school_id)
    if forms.EmptyForm().validate_on_submit():
        services.remove_meeting(meeting.id)
    return pages.done("school.meetings", school_id=school_id)


# --- the mark policy ------------------------------------------------------------------------


@bp.route("/school/<int:school_id>/policy", methods=["GET", "POST"])
@login_required
def policy(school_id: int):
    school = pages.school(school_id)
    versions = services.policies_of(school.id)
    form = forms.PolicyForm()
    done = pages.saved(
        form,
        lambda: services.new_policy(
            school.id, form.weights, form.average.data, form.thresholds, pages.actor(school.id)
        ),
        lambda _: pages.done("school.policy", school_id=school.id),
    )
    if done:
        return done
    if request.method == "GET" and versions:
        latest = versions[0]
        form.average.data = latest.average
        for kind in MARK_KINDS:
            form[f"weight_{kind}"].data = int(latest.weights.get(kind, 1))
        for mark in ("5", "4", "3"):
            form[f"threshold_{mark}"].data = Decimal(str(latest.thresholds.get(mark, "0")))
    return pages.render(
        "policy",
        school,
        pages.status(form),
        versions=versions,
        form=form,
        kinds=MARK_KINDS,
        kind_labels=forms.MARK_KIND_LABELS,
        averages=forms.AVERAGE_LABELS,
    )


# --- roster import --------------------------------------------------------------------------


@bp.route("/school/<int:school_id>/import", methods=["GET", "POST"])
@login_required
def roster_import(school_id: int):
    school = pages.school(school_id)
    form = forms.ImportForm()
    report, status = None, 200
    if form.validate_on_submit():
        try:
            report = roster.import_roster(school.id, form.kind.data, form.file.data.read())
        except roster.RosterRejected as rejected:
            report, status = rejected.report, 400
            form.form_errors.append(rejected.message)
    elif form.errors:
        status = 400
    return pages.render(
        "import",
        school,
        status,
        form=form,
        report=report,
        columns=roster.COLUMNS,
        russian=RUSSIAN_NAMES,
        kinds=forms.KIND_LABELS,
        role_labels=forms.ROLE_LABELS,
    )


@bp.get("/school/<int:school_id>/import/<kind>.csv")
@login_required
def roster_template(school_id: int, kind: str):
    pages.school(school_id)
    if kind not in roster.KINDS:
        abort(404)
    return Response(
        roster.template_csv(kind),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={kind}.csv"},
    )


# --- the health worker's absences ---------------------------------------------------------


@bp.get("/school/<int:school_id>/attendance")
@login_required
def attendance(school_id: int):
    school = services.get_school(school_id)
    require(can_view_school_attendance(current_viewer(), school.id))
    end = date_arg("to", clock.today())
    start = date_arg("from", end - timedelta(days=13))
    start = max(start, end - timedelta(days=MAX_ATTENDANCE_DAYS))
    return pages.render(
        "attendance",
        school,
        rows=services.absences(school.id, start, end),
        start=start,
        end=end,
        codes=forms.ATTENDANCE_LABELS,
        administers=can_manage_school(current_viewer(), school.id),
    )
