"""Input shape of a service application. Whether the child, the region and the school
may be chosen is decided in services (against the portal's and the diary's data)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import DataRequired, Length


class ApplicationForm(FlaskForm):
    child = StringField(
        _l("Child"), validators=[DataRequired(_l("Choose the child.")), Length(max=36)]
    )
    region = StringField(
        _l("Region"), validators=[DataRequired(_l("Choose the region.")), Length(max=40)]
    )
    school = StringField(
        _l("School"), validators=[DataRequired(_l("Choose the school.")), Length(max=12)]
    )
    # Set by the confirmation page: the parent has seen the summary and sends it.
    confirmed = HiddenField()
