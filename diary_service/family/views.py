"""HTTP of the family room: the students' and parents' diary pages, the class teacher's
list of who has read the week, and the access codes: the staff's pages that issue them
(``/codes/...``: printable slips, shown once) and the form a signed-in person enters one
in (``/codes/enter``, rate limited)."""

from __future__ import annotations

from datetime import date, timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

import diary_service.clock as clock
from diary_service.access import (
    Reach,
    can_acknowledge,
    can_issue_codes,
    can_lead_class,
    can_manage_school,
    can_read_access_log,
    class_of,
    class_shown,
    require,
)
from diary_service.access.log import record_access
from diary_service.auth.current import current_person, current_viewer, login_required
from diary_service.diary import services
from diary_service.extensions import limiter
from diary_service.family import (
    audit,
    links,
    trusted_events,  # noqa: F401  (registers the portal's "trusted.revoked" handler)
)
from diary_service.family.forms import (
    SLOT_LABELS,
    AcknowledgeForm,
    ClassCodesForm,
    ClassWeekForm,
    EmptyForm,
    EnterCodeForm,
    InvitationForm,
    StudentCodeForm,
    WeekForm,
)
from diary_service.models.family import PARENT_SLOTS
from diary_service.models.journal import ATTENDANCE_CODES
from diary_service.models.school import SchoolClass, Student
from shared.errors import ValidationError
from shared.web import int_arg

bp = Blueprint("family", __name__)


def _page(template: str, student: Student, reach: Reach, **context):
    """Render a student page with what every one of them shows: the child switcher, the
    student's class (as far as the viewer sees it) and the tabs the viewer may open."""
    viewer = current_viewer()
    today = clock.today()
    children = services.children_of(viewer, today)
    mine = next((child for child in children if child.student.id == student.id), None)
    # The child's class today is on the switcher already: not read a second time.
    known = {"enrolled": mine.school_class} if mine is not None else {}
    return render_template(
        template,
        student=student,
        sections=reach.sections,
        school_class=class_shown(student, reach, today, **known),
        children=children,
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


@bp.app_template_global("can_read_access_log")
def access_log_tab(student_id: int) -> bool:
    """For the student tabs (an imported macro sees globals, not the page's context)."""
    return can_read_access_log(current_viewer(), student_id)


def _student_for(student_id: int, section: str, what: str | None = None) -> tuple[Student, Reach]:
    """The student (404 if none) and what the viewer sees of them; 403 without
    ``section`` anywhere in it. With ``what``, the view goes to the student's access
    log."""
    student = services.get_student(student_id)
    reach = services.reach_for(current_viewer(), student)
    require(section in reach.sections)
    if what is not None:
        record_access(current_viewer(), [student.id], what)
    return student, reach


@bp.get("/students/")
@login_required
def index():
    viewer = current_viewer()
    children = services.children_of(viewer)
    unlinked = links.unlinked_children(current_person(), viewer)
    first = children[0].page("week") if len(children) == 1 else None
    if first is not None and not unlinked:
        return redirect(url_for(f"family.{first}", student_id=children[0].student.id))
    return render_template(
        "family/index.html", children=children, person=current_person(), unlinked=unlinked
    )


@bp.get("/students/<int:student_id>/week")
@login_required
def week(student_id: int):
    student, reach = _student_for(student_id, "schedule", "week")
    form = WeekForm(request.args)
    status = 200
    if not form.validate():
        status = 400
    day = form.date.data or reach.day_shown("schedule", clock.today())
    return _week_page(student, reach, day, form), status


def _week_page(student: Student, reach: Reach, day: date, form, ack_form=None):
    week = services.week_of(student, day, reach)
    viewer = current_viewer()
    can_ack = can_acknowledge(viewer, student) and week.monday <= clock.today()
    ack_form = ack_form or AcknowledgeForm(formdata=None, week=week.monday)
    return _page(
        "family/week.html",
        student,
        reach,
        week=week,
        form=form,
        ack_form=ack_form if can_ack else None,
        mine=week.acknowledged_by(viewer.person.id if viewer.person else None),
    )


@bp.get("/students/<int:student_id>/week/print")
@login_required
def week_print(student_id: int):
    student, reach = _student_for(student_id, "schedule", "week_print")
    form = WeekForm(request.args)
    valid = form.validate() and form.date.data
    day = form.date.data if valid else reach.day_shown("schedule", clock.today())
    return render_template(
        "family/week_print.html",
        student=student,
        school_class=class_shown(student, reach, day),
        week=services.week_of(student, day, reach),
        labels=_labels(),
    )


@bp.post("/students/<int:student_id>/acknowledge")
@login_required
def acknowledge(student_id: int):
    student = services.get_student(student_id)
    viewer = current_viewer()
    require(can_acknowledge(viewer, student))
    form = AcknowledgeForm()
    if form.validate():
        try:
            services.acknowledge(viewer.person.id, student, form.week.data, clock.today())
        except ValidationError as error:
            flash(error.message, "error")
        else:
            flash(_("Thank you: the class teacher will see that you have read the week."), "info")
        return redirect(url_for("family.week", student_id=student.id, date=form.week.data))
    reach = services.reach_for(viewer, student)
    page = _week_page(student, reach, clock.today(), WeekForm(formdata=None), form)
    return page, 400


@bp.get("/students/<int:student_id>/marks")
@login_required
def marks(student_id: int):
    student, reach = _student_for(student_id, "marks", "marks")
    today = clock.today()
    period = services.choose_period(student, int_arg("period"), today, reach)
    return _page(
        "family/marks.html",
        student,
        reach,
        page=services.marks_page(student, period, today, reach),
    )


@bp.get("/students/<int:student_id>/attendance")
@login_required
def attendance(student_id: int):
    student, reach = _student_for(student_id, "attendance", "attendance")
    year = services.choose_year(student, int_arg("year"), clock.today(), reach, "attendance")
    return _page(
        "family/attendance.html",
        student,
        reach,
        page=services.attendance_page(student, year, reach),
    )


@bp.get("/students/<int:student_id>/news")
@login_required
def news(student_id: int):
    student, reach = _student_for(student_id, "schedule", "news")
    return _page(
        "family/news.html", student, reach, page=services.news_page(student, clock.today(), reach)
    )


@bp.get("/students/<int:student_id>/access-log")
@login_required
def access_log(student_id: int):
    """Who looked at the child's record: for the child's parents only."""
    student = services.get_student(student_id)
    viewer = current_viewer()
    require(can_read_access_log(viewer, student.id))
    return _page(
        "family/access_log.html",
        student,
        services.reach_for(viewer, student),
        log=audit.access_log(student, int_arg("page", 1)),
    )


@bp.get("/classes/<int:class_id>/acknowledgements")
@login_required
def acknowledgements(class_id: int):
    school_class = services.get_class(class_id)
    require(can_lead_class(current_viewer(), school_class))
    form = ClassWeekForm(request.args)
    status = 200 if form.validate() else 400
    monday = services.monday_of(form.week.data or clock.today())
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


# --- access codes and staff invitations -----------------------------------------------


def _code_key() -> str:
    return current_app.config["LINK_CODE_KEY"]


def _person_limit() -> str:
    return current_app.config["RATELIMIT_LINK_CODES_PER_PERSON"]


def _address_limit() -> str:
    return current_app.config["RATELIMIT_LINK_CODES_PER_IP"]


def _person_key() -> str:
    """Rate-limit key for one signed-in person, wherever they try codes from."""
    person = current_person()
    return f"link-codes:person:{person.id if person else '-'}"


def _staff_id(school_id: int | None) -> int | None:
    """The viewer's staff record at the school: the issuer a slip and a link name."""
    member = current_viewer().staff_at(school_id) if school_id is not None else None
    return member.id if member else None


def _default_until() -> date:
    return clock.today() + links.DEFAULT_VALIDITY


def _slips(**context):
    """The printable slips: the only time the codes are ever shown, so never cached."""
    site = current_app.config["PUBLIC_URL"].rstrip("/")
    response = make_response(
        render_template(
            "family/code_slips.html",
            site_url=f"{site}/",
            enter_url=site + url_for("family.enter_code"),
            **context,
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _first_error(form) -> str:
    return next(iter(error for errors in form.errors.values() for error in errors), "")


@bp.get("/codes/")
@login_required
def codes():
    viewer = current_viewer()
    classes = links.issuing_classes(viewer, clock.today())
    schools = links.administered_schools(viewer)
    require(bool(classes or schools))
    return render_template("family/codes.html", classes=classes, schools=schools)


def _class_for_codes(class_id: int) -> SchoolClass:
    school_class = services.get_class(class_id)
    require(can_lead_class(current_viewer(), school_class))
    return school_class


def _class_codes_page(school_class: SchoolClass, form: ClassCodesForm, status: int = 200):
    today = clock.today()
    return render_template(
        "family/class_codes.html",
        school_class=school_class,
        rows=links.class_codes(school_class, today),
        form=form,
        today=today,
        slot_labels=SLOT_LABELS,
    ), status


@bp.get("/codes/classes/<int:class_id>")
@login_required
def class_codes(class_id: int):
    school_class = _class_for_codes(class_id)
    form = ClassCodesForm(formdata=None, valid_until=_default_until())
    return _class_codes_page(school_class, form)


@bp.post("/codes/classes/<int:class_id>")
@login_required
def issue_class_codes(class_id: int):
    school_class = _class_for_codes(class_id)
    form = ClassCodesForm()
    if form.validate():
        try:
            issued = links.issue_class_codes(
                school_class,
                form.chosen_slots(),
                form.valid_until.data,
                _staff_id(school_class.school_id),
                _code_key(),
                clock.today(),
                only_unlinked=form.only_unlinked.data,
            )
        except ValidationError as error:
            form.form_errors.append(error.message)
        else:
            return _slips(
                codes=issued.codes,
                skipped=issued.skipped,
                back=url_for("family.class_codes", class_id=school_class.id),
            )
    return _class_codes_page(school_class, form, 400)


def _student_for_codes(student_id: int) -> tuple[Student, str]:
    """The student (404 if none) if the viewer issues their codes, and the page to go
    back to."""
    student = services.get_student(student_id)
    require(can_issue_codes(current_viewer(), student, clock.today()))
    school_class = class_of(student)
    if school_class is not None and can_lead_class(current_viewer(), school_class):
        return student, url_for("family.class_codes", class_id=school_class.id)
    return student, url_for("family.codes")


@bp.post("/codes/students/<int:student_id>")
@login_required
def issue_student_code(student_id: int):
    student, back = _student_for_codes(student_id)
    form = StudentCodeForm()
    if not form.validate():
        flash(_first_error(form), "error")
        return redirect(back)
    try:
        issued = links.issue_code(
            student,
            form.slot.data,
            form.valid_until.data or _default_until(),
            _staff_id(student.school_id),
            _code_key(),
            clock.today(),
        )
    except ValidationError as error:
        flash(error.message, "error")
        return redirect(back)
    return _slips(codes=[issued], skipped=0, back=back)


@bp.post("/codes/students/<int:student_id>/slots/<int:slot>/revoke")
@login_required
def revoke_code(student_id: int, slot: int):
    student, back = _student_for_codes(student_id)
    if slot not in PARENT_SLOTS:
        abort(404)
    if EmptyForm().validate():
        if links.revoke_code(student, slot):
            flash(_("The code no longer works."), "info")
        else:
            flash(_("There was no unused code to stop."), "info")
    return redirect(back)


@bp.get("/codes/schools/<int:school_id>/staff")
@login_required
def staff_codes(school_id: int):
    school = links.get_school(school_id)
    require(can_manage_school(current_viewer(), school.id))
    return render_template(
        "family/staff_codes.html",
        school=school,
        rows=links.staff_invitations(school.id),
        today=clock.today(),
    )


@bp.post("/codes/staff/<int:staff_id>")
@login_required
def invite_staff(staff_id: int):
    member = links.get_staff(staff_id)
    require(member.school_id is not None and can_manage_school(current_viewer(), member.school_id))
    back = url_for("family.staff_codes", school_id=member.school_id)
    form = InvitationForm()
    if not form.validate():
        flash(_first_error(form), "error")
        return redirect(back)
    try:
        issued = links.issue_invitation(
            member,
            form.valid_until.data or _default_until(),
            _staff_id(member.school_id),
            _code_key(),
            clock.today(),
        )
    except ValidationError as error:
        flash(error.message, "error")
        return redirect(back)
    return _slips(invitation=issued, back=back)


@bp.route("/codes/enter", methods=["GET", "POST"])
@login_required
@limiter.limit(_address_limit, methods=["POST"])
@limiter.limit(_person_limit, methods=["POST"], key_func=_person_key)
def enter_code():
    form = EnterCodeForm()
    if form.validate_on_submit():
        try:
            redeemed = links.redeem_code(
                form.code.data, current_person(), _code_key(), clock.today()
            )
        except ValidationError as error:
            form.code.errors.append(error.message)
        else:
            if redeemed.student is not None:
                flash(
                    _(
                        "Done: you now see the diary of %(name)s.",
                        name=redeemed.student.full_name,
                    ),
                    "info",
                )
                return redirect(url_for("family.week", student_id=redeemed.student.id))
            flash(
                _(
                    "Done: you have joined %(school)s in the diary.",
                    school=redeemed.member.school.name if redeemed.member.school else "",
                ),
                "info",
            )
            return redirect(url_for("home.index"))
    return render_template("family/enter_code.html", form=form), 400 if form.errors else 200
