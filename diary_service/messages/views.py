"""HTTP of the messages room: threads, the class teacher's announcements, the class
parents' conversation and its moderation, and notification settings."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from diary_service.access import can_lead_class, class_of, require
from diary_service.auth.current import current_viewer, login_required
from diary_service.messages import services
from diary_service.messages.base import FieldError
from diary_service.messages.forms import (
    AnnouncementForm,
    EmptyForm,
    HideForm,
    NewThreadForm,
    NotificationSettingForm,
    ReadForm,
    ReplyForm,
    StudentChoiceForm,
)
from shared.errors import ValidationError
from shared.web import int_arg

bp = Blueprint("messages", __name__)


@bp.get("/messages/")
@login_required
def index():
    viewer = current_viewer()
    return render_template(
        "messages/index.html",
        rows=services.threads_for(viewer),
        classes=services.class_links(viewer),
    )


@bp.route("/messages/new", methods=["GET", "POST"])
@login_required
def new():
    viewer = current_viewer()
    students = services.writable_students(viewer)
    student_id = int_arg("student")
    if student_id is None and len(students) == 1:
        student_id = students[0][0]
    if student_id is None:
        choose = StudentChoiceForm(formdata=None)
        choose.student.choices = students
        return render_template("messages/new.html", choose=choose, students=students)
    student = services.get_student(student_id)
    form = NewThreadForm()
    choices = services.recipient_choices(viewer, student)
    # A family writes to the class teacher first of all: they come first and are
    # chosen unless the link asked for someone else (the subject teachers follow).
    school_class = class_of(student)
    leader = school_class.class_teacher if school_class is not None else None
    lead_key = str(leader.person_id) if leader is not None and leader.person_id else None
    choices.sort(key=lambda choice: choice[0] != lead_key)
    form.recipient.choices = choices
    if request.method == "GET" and request.args.get("to"):
        form.recipient.data = request.args["to"]
    elif request.method == "GET" and lead_key in dict(choices):
        form.recipient.data = lead_key
    if form.validate_on_submit():
        try:
            thread = services.start_direct_thread(
                viewer, student.id, form.recipient.data, form.subject.data, form.body.data
            )
        except FieldError as error:
            form[error.field].errors.append(error.message)
        else:
            flash(_l("The message is sent."), "info")
            return redirect(url_for("messages.thread", thread_id=thread.id))
    label = dict(students).get(student.id, student.full_name)
    return render_template(
        "messages/new.html", form=form, student=student, label=label
    ), 400 if form.errors else 200


@bp.get("/messages/<int:thread_id>")
@login_required
def thread(thread_id: int):
    page = services.open_thread(current_viewer(), thread_id)
    return render_template("messages/thread.html", page=page, form=ReplyForm())


@bp.post("/messages/<int:thread_id>/read")
@login_required
def mark_read(thread_id: int):
    """The reader marks the thread read, up to the last message their page showed."""
    viewer = current_viewer()
    services.get_thread(viewer, thread_id)  # 404 / 403 before looking at the form
    form = ReadForm()
    if not form.validate_on_submit():
        raise ValidationError(_l("There is no such message in this conversation."))
    services.mark_read(viewer, thread_id, form.seen.data)
    return redirect(url_for("messages.index"))


@bp.post("/messages/<int:thread_id>")
@login_required
def reply(thread_id: int):
    viewer = current_viewer()
    form = ReplyForm()
    if form.validate_on_submit():
        try:
            services.reply(viewer, thread_id, form.body.data)
        except FieldError as error:
            form.body.errors.append(error.message)
        else:
            return redirect(url_for("messages.thread", thread_id=thread_id, _anchor="last"))
    page = services.open_thread(viewer, thread_id)
    return render_template("messages/thread.html", page=page, form=form), 400


@bp.post("/messages/hide/<int:message_id>")
@login_required
def hide(message_id: int):
    viewer = current_viewer()
    form = HideForm()
    if form.validate_on_submit():
        try:
            message = services.hide_message(viewer, message_id, form.reason.data)
        except FieldError as error:
            form.reason.errors.append(error.message)
        else:
            flash(_l("The message is hidden from the parents."), "info")
            return redirect(url_for("messages.thread", thread_id=message.thread_id))
    message = services.moderated_message(viewer, message_id)
    page = services.open_thread(viewer, message.thread_id)
    return render_template(
        "messages/thread.html",
        page=page,
        form=ReplyForm(formdata=None),
        hide_errors={message_id: form.reason.errors},
    ), 400


@bp.post("/messages/restore/<int:message_id>")
@login_required
def restore(message_id: int):
    viewer = current_viewer()
    message = services.moderated_message(viewer, message_id)
    if EmptyForm().validate_on_submit():
        services.restore_message(viewer, message_id)
        flash(_l("The message is shown again."), "info")
    return redirect(url_for("messages.thread", thread_id=message.thread_id))


@bp.route("/messages/classes/<int:class_id>/announce", methods=["GET", "POST"])
@login_required
def announce(class_id: int):
    viewer = current_viewer()
    school_class = services.get_class(class_id)
    require(can_lead_class(viewer, school_class))
    form = AnnouncementForm()
    if form.validate_on_submit():
        try:
            thread = services.post_announcement(viewer, class_id, form.subject.data, form.body.data)
        except FieldError as error:
            form[error.field].errors.append(error.message)
        else:
            flash(_l("The announcement is sent to the parents of the class."), "info")
            return redirect(url_for("messages.thread", thread_id=thread.id))
    return render_template(
        "messages/announce.html", form=form, school_class=school_class
    ), 400 if form.errors else 200


@bp.route("/messages/classes/<int:class_id>/parents", methods=["GET", "POST"])
@login_required
def class_parents(class_id: int):
    viewer = current_viewer()
    school_class, thread = services.open_class_parents(viewer, class_id)
    if thread is not None and request.method == "GET":
        return redirect(url_for("messages.thread", thread_id=thread.id))
    if request.method == "POST":  # only the class's guardians post; others are refused first
        require(bool(services.children_in_class(viewer, school_class.id)))
    form = ReplyForm()
    if form.validate_on_submit():
        try:
            message = services.post_to_class_parents(viewer, class_id, form.body.data)
        except FieldError as error:
            form.body.errors.append(error.message)
        else:
            return redirect(url_for("messages.thread", thread_id=message.thread_id))
    page = (
        services.open_thread(viewer, thread.id)
        if thread is not None
        else services.empty_class_parents_page(viewer, school_class)
    )
    return render_template(
        "messages/thread.html", page=page, form=form
    ), 400 if form.errors else 200


def _setting_forms(contexts, submitted: NotificationSettingForm | None = None, key=None):
    return {
        ctx.key: submitted
        if submitted is not None and ctx.key == key
        else NotificationSettingForm(formdata=None, obj=ctx.setting, prefix=f"s{ctx.key}")
        for ctx in contexts
    }


@bp.get("/messages/settings")
@login_required
def settings():
    contexts = services.setting_contexts(current_viewer())
    return render_template(
        "messages/settings.html", contexts=contexts, forms=_setting_forms(contexts)
    )


@bp.post("/messages/settings/own", defaults={"student_id": None})
@bp.post("/messages/settings/<int:student_id>")
@login_required
def save_settings(student_id: int | None):
    viewer = current_viewer()
    services.check_setting_access(viewer, student_id)
    form = NotificationSettingForm(prefix=f"s{student_id or 0}")
    if form.validate_on_submit():
        try:
            services.save_setting(
                viewer,
                student_id,
                by_email=form.by_email.data,
                by_sms=form.by_sms.data,
                quiet_from=form.quiet_from.data,
                quiet_to=form.quiet_to.data,
                events=form.events(),
            )
        except FieldError as error:
            form[error.field].errors.append(error.message)
        else:
            flash(_l("The notification settings are saved."), "info")
            return redirect(url_for("messages.settings"))
    contexts = services.setting_contexts(viewer)
    forms = _setting_forms(contexts, form, student_id or 0)
    return render_template("messages/settings.html", contexts=contexts, forms=forms), 400
