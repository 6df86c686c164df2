"""Input shape of the reports: which period a report covers. GET forms (a report
changes nothing), so no CSRF token; an id that is not a number is refused as 404."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.validators import Optional

from shared.forms import coerce_id


class PeriodForm(FlaskForm):
    """``?period=<id>`` of the class report, the school report and the print page."""

    class Meta:
        csrf = False

    # The service decides whether the period belongs to the class or school; the choices
    # only draw the select.
    period = SelectField(
        _l("Period"), coerce=coerce_id, validate_choice=False, validators=[Optional()]
    )


class RegionPeriodForm(FlaskForm):
    """``?period_number=<n>`` of the department's dashboard: the n-th period of each
    school's current year."""

    class Meta:
        csrf = False

    period_number = SelectField(
        _l("Period"), coerce=coerce_id, validate_choice=False, validators=[Optional()]
    )
