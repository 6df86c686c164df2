"""Input shape for inviting a trusted person. Rules beyond shape live in trusted.py."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional
from wtforms.validators import ValidationError as FieldError

from portal.family.forms import DATE
from portal.proofing.forms import DATE_FORMATS
from shared.forms import DateField

PRESET_CHOICES = [
    SelectChoice("schedule_homework", _l("Schedule and homework only")),
    SelectChoice("no_messages", _l("Everything but messages")),
    SelectChoice("everything", _l("Everything, messages included")),
]


class TrustedGrantForm(FlaskForm):
    snils = StringField(_l("SNILS of the person"), validators=[Optional(), Length(max=20)])
    phone = StringField(_l("Their mobile phone"), validators=[Optional(), Length(max=30)])
    surname = StringField(_l("Their surname"), validators=[Optional(), Length(max=100)])
    preset = RadioField(
        _l("What the person will see"),
        choices=PRESET_CHOICES,
        default="schedule_homework",
        validators=[DataRequired(_l("Choose what the person will see."))],
    )
    until = DateField(_l("Access until"), format=DATE_FORMATS, validators=[Optional()])

    def validate_until(self, field: DateField) -> None:
        # A date typed wrongly: our message in the person's language, not WTForms' own.
        if field.data is None and field.raw_data and field.raw_data[0].strip():
            field.errors[:] = []
            raise FieldError(DATE)
