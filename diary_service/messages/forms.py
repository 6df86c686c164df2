"""Input shapes of the messages room."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from diary_service.messages.base import MAX_BODY, MAX_REASON, MAX_SUBJECT
from shared.forms import coerce_id

REQUIRED = _l("This field is required.")
TIME = _l("Enter the time as HH:MM.")


class StudentChoiceForm(FlaskForm):
    """Step one of a new thread (a GET form: no token): whom it is about."""

    class Meta:
        csrf = False

    student = SelectField(
        _l("Student the message is about"), coerce=coerce_id, validators=[InputRequired(REQUIRED)]
    )


class NewThreadForm(FlaskForm):
    # The service checks the choice against whom the viewer may write to, with its own
    # message; WTForms' generic "not a valid choice" would say less.
    recipient = SelectField(
        _l("Recipient"), validators=[InputRequired(REQUIRED)], validate_choice=False
    )
    subject = StringField(
        _l("Message subject"), validators=[DataRequired(REQUIRED), Length(max=MAX_SUBJECT)]
    )
    body = TextAreaField(
        _l("Message text"), validators=[DataRequired(REQUIRED), Length(max=MAX_BODY)]
    )


class AnnouncementForm(FlaskForm):
    subject = StringField(
        _l("Message subject"), validators=[DataRequired(REQUIRED), Length(max=MAX_SUBJECT)]
    )
    body = TextAreaField(
        _l("Announcement text"), validators=[DataRequired(REQUIRED), Length(max=MAX_BODY)]
    )


class ReplyForm(FlaskForm):
    body = TextAreaField(
        _l("Message text"), validators=[DataRequired(REQUIRED), Length(max=MAX_BODY)]
    )


class HideForm(FlaskForm):
    reason = StringField(
        _l("Reason for hiding"), validators=[DataRequired(REQUIRED), Length(max=MAX_REASON)]
    )


class EmptyForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class ReadForm(FlaskForm):
    """ "Mark as read": up to the last message the page showed (``seen``)."""

    seen = IntegerField(validators=[Optional()])


class HourMinuteField(TimeField):
    """A time of day as HH:MM; anything else (or nothing) is the field's one error."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, format=["%H:%M", "%H:%M:%S"], **kwargs)

    def process_formdata(self, valuelist):
        if not valuelist or not valuelist[0].strip():
            raise ValueError(str(TIME))
        try:
            super().process_formdata([valuelist[0].strip()])
        except ValueError as exc:
            raise ValueError(str(TIME)) from exc


class NotificationSettingForm(FlaskForm):
    by_email = BooleanField(_l("By e-mail"))
    by_sms = BooleanField(_l("By SMS"))
    on_mark = BooleanField(_l("New marks"))
    on_absence = BooleanField(_l("Absences and lateness"))
    on_homework = BooleanField(_l("New homework"))
    on_message = BooleanField(_l("Messages"))
    quiet_from = HourMinuteField(_l("Quiet from"))
    quiet_to = HourMinuteField(_l("Quiet until"))

    def events(self) -> dict[str, bool]:
        return {
            event: getattr(self, f"on_{event}").data
            for event in ("mark", "absence", "homework", "message")
        }
