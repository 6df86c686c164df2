"""Input shape of the family's pages: which week to show, the acknowledgement, and the
access codes (issuing them, entering one)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Optional
from wtforms.validators import ValidationError as FieldError

from shared.forms import DateField

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
            if self.out_of_range is not None:  # a date, but not one of 1900…2100
                raise
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


# --- access codes ----------------------------------------------------------------------

SLOT_LABELS = {1: _l("Parent 1"), 2: _l("Parent 2")}
CHOOSE_SLOT = _l("Choose the parent place.")


def _slot(value):
    """A select's value as a parent place (1 or 2); anything else is left for the
    choices' check to refuse."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class PlaceField(SelectField):
    """A choice among fixed options, refused with our own translated message (WTForms'
    "Not a valid choice" is not in the catalog)."""

    def pre_validate(self, form):
        if self.data not in {choice.value for choice in self.choices}:
            raise FieldError(str(CHOOSE_SLOT))


class ClassCodesForm(FlaskForm):
    """Slips for the whole class: which parent places, and until when they work."""

    slots = PlaceField(
        _l("Codes for"),
        choices=[
            SelectChoice("both", _l("both parents (two slips per student)")),
            SelectChoice("1", SLOT_LABELS[1]),
            SelectChoice("2", SLOT_LABELS[2]),
        ],
    )
    valid_until = IsoDateField(_l("Valid until"), validators=[DataRequired(INVALID_DATE)])
    only_unlinked = BooleanField(_l("Only students who have no parent linked yet"), default=True)

    def chosen_slots(self) -> list[int]:
        return [1, 2] if self.slots.data == "both" else [int(self.slots.data)]


class StudentCodeForm(FlaskForm):
    """A slip for one parent place of one student (the buttons on the class's page);
    without a date it works for the default period."""

    slot = PlaceField(
        choices=[SelectChoice(slot, label) for slot, label in SLOT_LABELS.items()],
        coerce=_slot,
    )
    valid_until = IsoDateField(validators=[Optional()], widget=HiddenField.widget)


class InvitationForm(FlaskForm):
    """An invitation for one staff member; without a date it works for the default
    period."""

    valid_until = IsoDateField(validators=[Optional()], widget=HiddenField.widget)


class EnterCodeForm(FlaskForm):
    code = StringField(
        _l("Code from the slip"),
        validators=[DataRequired(_l("Enter the code from the slip."))],
        description=_l("Ten letters and digits, for example ABCDE-23456."),
        render_kw={"maxlength": 40, "autocomplete": "off", "spellcheck": "false"},
    )


class EmptyForm(FlaskForm):
    """A button that changes something: the CSRF token only."""
