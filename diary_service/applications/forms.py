"""Input shape of the school administrator's decisions on service applications."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional
from wtforms.validators import ValidationError as FieldError

from diary_service.applications.services import COMMENT_LENGTH, REFUSAL_GROUNDS

CHOOSE_STUDENT = _l("Choose the student the application is about.")
CHOOSE_GROUND = _l("Choose the ground for refusal.")


def _number(value):
    """A select's value as an id; anything else is left for the choices' check."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class ChoiceField(SelectField):
    """A choice among the options offered, refused with our own translated message
    (WTForms' "Not a valid choice" is not in the catalog)."""

    def __init__(self, *args, message=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.message = message

    def pre_validate(self, form):
        if self.data not in {self.coerce(choice.value) for choice in self.choices}:
            raise FieldError(str(self.message))


class TakeForm(FlaskForm):
    """ "Take into work": the CSRF token only."""


class ApproveForm(FlaskForm):
    """Approve: which of the candidate students the child is (the views fill the
    choices; the one matched by SNILS is preselected)."""

    student = ChoiceField(
        _l("The student the application is about"), coerce=_number, message=CHOOSE_STUDENT
    )


class RefuseForm(FlaskForm):
    ground = ChoiceField(
        _l("Ground for refusal"),
        choices=[
            SelectChoice("", _l("— choose —")),
            *(SelectChoice(ground, label) for ground, label in REFUSAL_GROUNDS.items()),
        ],
        message=CHOOSE_GROUND,
    )
    comment = TextAreaField(
        _l("Reason in your words"),
        validators=[
            Optional(),
            Length(
                max=COMMENT_LENGTH,
                message=_l("At most %(max)d characters.", max=COMMENT_LENGTH),
            ),
        ],
        description=_l(
            "The citizen reads it in their cabinet on the portal. Required for another reason."
        ),
        render_kw={"rows": 3, "maxlength": COMMENT_LENGTH},
    )

    def validate_ground(self, field):
        if not field.data:
            raise FieldError(str(CHOOSE_GROUND))

    def validate_comment(self, field):
        if self.ground.data == "other" and not (field.data or "").strip():
            raise FieldError(str(_l("Write the reason for refusal.")))
