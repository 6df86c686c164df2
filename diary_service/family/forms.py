"""Input shape of the family's pages: which week to show, and the acknowledgement."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField
from wtforms.validators import DataRequired, Optional

INVALID_DATE = _l("Enter the date as YYYY-MM-DD.")


class IsoDateField(DateField):
    """A date in ISO form (what ``<input type=date>`` and the week links send), with
    our own translated message instead of WTForms' untranslated one."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("format", "%Y-%m-%d")
        super().__init__(*args, **kwargs)

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            raise ValueError(str(INVALID_DATE)) from error


class WeekForm(FlaskForm):
    """``?date=`` of the week view: any day of the week to show (today when empty)."""

    class Meta:
        csrf = False  # a GET form: it changes nothing

    date = IsoDateField(_l("Go to the week of"), validators=[Optional()])


class ClassWeekForm(FlaskForm):
    """``?week=`` of the class teacher's acknowledgements page."""

    class Meta:
        csrf = False  # a GET form: it changes nothing

    week = IsoDateField(_l("Week of"), validators=[Optional()])


class AcknowledgeForm(FlaskForm):
    """ "I have read the diary" for the week shown."""

    week = IsoDateField(validators=[DataRequired(INVALID_DATE)], widget=HiddenField.widget)
