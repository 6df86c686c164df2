"""Input shapes of the tester console. The rules themselves are checked in services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from portal.simulator.registries.services import MAX_DELAY, REASON_LABELS, REASONS
from shared.forms import IntegerField

OUTCOME_CHOICES = [
    SelectChoice("auto", _l("Check against the population")),
    SelectChoice("approve", _l("Approve")),
    SelectChoice("reject", _l("Reject")),
    SelectChoice("hold", _l("Hold for a tester")),
]
DOWN_CHOICES = [
    SelectChoice("none", _l("Working")),
    SelectChoice("error", _l("Down: answers 503 at once")),
    SelectChoice("timeout", _l("Down: answers 503 after a long pause")),
]
NO_REASON = SelectChoice("", _l("(not set)"))
REASON_CHOICES = [NO_REASON] + [SelectChoice(code, REASON_LABELS[code]) for code in REASONS]
REQUIRED = _l("Fill in this field.")


class RuleForm(FlaskForm):
    default_outcome = SelectField(_l("Answer"), choices=OUTCOME_CHOICES)
    reason = SelectField(_l("Reason of a rejection"), choices=REASON_CHOICES)
    reason_text = StringField(_l("Reason text"), validators=[Optional(), Length(max=500)])
    delay_seconds = IntegerField(
        _l("Delay, seconds"),
        default=0,
        validators=[InputRequired(REQUIRED), NumberRange(min=0, max=MAX_DELAY)],
    )
    down = SelectField(_l("Availability"), choices=DOWN_CHOICES)


class OverrideForm(FlaskForm):
    key = StringField(_l("Number"), validators=[DataRequired(REQUIRED), Length(max=40)])
    outcome = SelectField(_l("Answer"), choices=OUTCOME_CHOICES[1:])
    reason = SelectField(_l("Reason of a rejection"), choices=REASON_CHOICES)
    reason_text = StringField(_l("Reason text"), validators=[Optional(), Length(max=500)])


class DecisionForm(FlaskForm):
    # The outcome comes from the button pressed: approved, rejected or held.
    outcome = SelectField(
        _l("Decision"),
        choices=[
            SelectChoice("approved", _l("Approve")),
            SelectChoice("rejected", _l("Reject")),
            SelectChoice("held", _l("Hold")),
        ],
    )
    reason = SelectField(_l("Reason of a rejection"), choices=REASON_CHOICES)
    reason_text = StringField(_l("Reason text"), validators=[Optional(), Length(max=500)])


class EmptyForm(FlaskForm):
    pass
