"""Input shapes of the identity room. Rules beyond shape live in services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

REQUIRED = _l("Fill in this field.")


class RegistrationForm(FlaskForm):
    surname = StringField(_l("Surname"), validators=[DataRequired(REQUIRED), Length(max=100)])
    given_name = StringField(_l("Name"), validators=[DataRequired(REQUIRED), Length(max=100)])
    contact = StringField(
        _l("Mobile phone or e-mail"), validators=[DataRequired(REQUIRED), Length(max=254)]
    )


class CodeForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(REQUIRED), Length(max=20)])


class ResendForm(FlaskForm):
    pass


class NewPasswordForm(FlaskForm):
    password = PasswordField(_l("Password"), validators=[DataRequired(REQUIRED), Length(max=1024)])
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(REQUIRED), EqualTo("password", _l("The passwords do not match."))],
    )


class RegistrationPasswordForm(NewPasswordForm):
    consent = BooleanField(_l("I agree to the processing of my personal data"))


class LoginForm(FlaskForm):
    login = StringField(
        _l("Phone, e-mail or SNILS"), validators=[DataRequired(REQUIRED), Length(max=254)]
    )
    password = PasswordField(_l("Password"), validators=[DataRequired(REQUIRED), Length(max=1024)])


class RecoveryForm(FlaskForm):
    contact = StringField(
        _l("Mobile phone or e-mail"), validators=[DataRequired(REQUIRED), Length(max=254)]
    )


class ChangePasswordForm(NewPasswordForm):
    current = PasswordField(
        _l("Current password"), validators=[DataRequired(REQUIRED), Length(max=1024)]
    )


class ContactForm(FlaskForm):
    contact = StringField(
        _l("New mobile phone or e-mail"), validators=[DataRequired(REQUIRED), Length(max=254)]
    )


class ConfirmPasswordForm(FlaskForm):
    password = PasswordField(_l("Password"), validators=[DataRequired(REQUIRED), Length(max=1024)])


class EmptyForm(FlaskForm):
    """A button: the form carries only the CSRF token."""
