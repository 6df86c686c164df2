"""Input shapes of identity proofing."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from shared.forms import DATE_FORMATS, DateField

REQUIRED = _l("Fill in this field.")
GENDERS = [SelectChoice("F", _l("female")), SelectChoice("M", _l("male"))]


class ProfileForm(FlaskForm):
    surname = StringField(_l("Surname"), validators=[DataRequired(REQUIRED), Length(max=100)])
    given_name = StringField(_l("Name"), validators=[DataRequired(REQUIRED), Length(max=100)])
    patronymic = StringField(_l("Patronymic (if any)"), validators=[Optional(), Length(max=100)])
    gender = RadioField(
        _l("Gender"), choices=GENDERS, validators=[DataRequired(_l("Choose the gender."))]
    )
    birth_date = DateField(
        _l("Birth date"),
        format=DATE_FORMATS,
        validators=[DataRequired(_l("Enter the date as DD.MM.YYYY."))],
    )
    birth_place = StringField(
        _l("Place of birth"), validators=[DataRequired(REQUIRED), Length(max=200)]
    )
    citizenship = SelectField(
        _l("Citizenship"), choices=[SelectChoice("RUS", _l("Russian Federation"))], default="RUS"
    )
    registration_address = StringField(
        _l("Registration address"), validators=[DataRequired(REQUIRED), Length(max=300)]
    )
    actual_address = StringField(
        _l("Actual address (if different)"), validators=[Optional(), Length(max=300)]
    )


class SnilsForm(FlaskForm):
    snils = StringField(_l("SNILS"), validators=[DataRequired(REQUIRED), Length(max=20)])


class PassportForm(FlaskForm):
    series = StringField(_l("Series"), validators=[DataRequired(REQUIRED), Length(max=10)])
    number = StringField(_l("Number"), validators=[DataRequired(REQUIRED), Length(max=10)])
    issue_date = DateField(
        _l("Issue date"),
        format=DATE_FORMATS,
        validators=[DataRequired(_l("Enter the date as DD.MM.YYYY."))],
    )
    issuer = StringField(_l("Issued by"), validators=[DataRequired(REQUIRED), Length(max=200)])
    issuer_code = StringField(
        _l("Issuer code"), validators=[DataRequired(REQUIRED), Length(max=10)]
    )


class OptionalDocumentForm(FlaskForm):
    kind = SelectField(
        _l("Document"),
        choices=[
            SelectChoice("inn", _l("INN")),
            SelectChoice("oms", _l("OMS medical policy")),
            SelectChoice("driving_licence", _l("Driving licence")),
        ],
    )
    number = StringField(_l("Number"), validators=[DataRequired(REQUIRED), Length(max=30)])


class LetterCodeForm(FlaskForm):
    code = StringField(
        _l("Code from the letter"), validators=[DataRequired(REQUIRED), Length(max=20)]
    )


class SnilsSearchForm(FlaskForm):
    snils = StringField(_l("Citizen's SNILS"), validators=[DataRequired(REQUIRED), Length(max=20)])
