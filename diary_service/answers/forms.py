"""Input shape of signed answers: the class teacher's request and a parent's answer."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from diary_service.family.forms import IsoDateField

DEFAULT_OPTIONS = "Согласен\nНе согласен"


class RequestForm(FlaskForm):
    title = StringField(
        _l("Title"),
        validators=[DataRequired(_l("Give the request a title.")), Length(max=200)],
    )
    text = TextAreaField(_l("What the parents are asked"), validators=[Length(max=5000)])
    options = TextAreaField(
        _l("Answers to choose from, one per line"),
        default=DEFAULT_OPTIONS,
        validators=[DataRequired(_l("Give at least two answers to choose from.")), Length(max=500)],
    )
    deadline = IsoDateField(
        _l("Answer by"), validators=[InputRequired(_l("Enter the date as YYYY-MM-DD."))]
    )

    def option_list(self) -> list[str]:
        return [line.strip() for line in (self.options.data or "").splitlines() if line.strip()]


class AnswerForm(FlaskForm):
    student = HiddenField(validators=[DataRequired()])
    choice = RadioField(
        _l("Your answer"), choices=[], validators=[InputRequired(_l("Choose an answer."))]
    )
    comment = TextAreaField(_l("Comment (optional)"), validators=[Optional(), Length(max=500)])

    def __init__(self, options: list[str], **kwargs):
        super().__init__(**kwargs)
        self.choice.choices = [(option, option) for option in options]
