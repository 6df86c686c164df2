"""Input shape for adding a child."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField
from wtforms.validators import DataRequired, Length, Optional

from portal.proofing.forms import DATE_FORMATS, GENDERS, REQUIRED
from shared.forms import DateField

DATE = _l("Enter the date as DD.MM.YYYY.")


class ChildForm(FlaskForm):
    surname = StringField(_l("Surname"), validators=[DataRequired(REQUIRED), Length(max=100)])
    given_name = StringField(_l("Name"), validators=[DataRequired(REQUIRED), Length(max=100)])
    patronymic = StringField(_l("Patronymic (if any)"), validators=[Optional(), Length(max=100)])
    birth_date = DateField(_l("Birth date"), format=DATE_FORMATS, validators=[DataRequired(DATE)])
    gender = RadioField(
        _l("Gender"), choices=GENDERS, validators=[DataRequired(_l("Choose the gender."))]
    )
    certificate_series = StringField(
        _l("Birth certificate series"), validators=[DataRequired(REQUIRED), Length(max=12)]
    )
    certificate_number = StringField(
        _l("Birth certificate number"), validators=[DataRequired(REQUIRED), Length(max=10)]
    )
    certificate_issue_date = DateField(
        _l("Certificate issue date"), format=DATE_FORMATS, validators=[DataRequired(DATE)]
    )
    registry_office = StringField(
        _l("Registry office (ЗАГС)"), validators=[DataRequired(REQUIRED), Length(max=200)]
    )
    snils = StringField(_l("Child's SNILS"), validators=[DataRequired(REQUIRED), Length(max=20)])
