"""Input shapes of the school room. Choices that come from the database (classes,
teachers, subjects) are filled by the view from the services."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DecimalField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from diary_service.models.journal import MARK_KINDS
from diary_service.models.school import NOTICE_KINDS, PERIOD_KINDS, TIMETABLE_CHANGE_KINDS
from diary_service.school.base import SCHOOL_ROLES, FormErrors

# Re-exported: the school's pages name marks and absences with the journal's words.
from diary_service.school.labels import ATTENDANCE_LABELS as ATTENDANCE_LABELS
from diary_service.school.labels import MARK_KIND_LABELS
from diary_service.school.policy import AVERAGES
from diary_service.school.roster_csv import KINDS
from diary_service.school.timetable import TimetableErrors
from shared.forms import DateField, DateTimeLocalField, IntegerField, coerce_optional_id

REQUIRED = _l("Fill in this field.")
CHOOSE = _l("Choose from the list.")
DATE = _l("Enter the date as DD.MM.YYYY.")
DATE_FORMATS = ["%Y-%m-%d", "%d.%m.%Y"]  # the date picker, or typed by hand
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%d.%m.%Y %H:%M"]

ROLE_LABELS = {
    "teacher": _l("teacher"),
    "class_teacher": _l("class teacher"),
    "school_admin": _l("school administrator"),
    "health_worker": _l("health worker"),
    "department": _l("education department"),
}
PERIOD_LABELS = {
    "quarter": _l("quarters"),
    "trimester": _l("trimesters"),
    "semester": _l("semesters"),
}
CHANGE_LABELS = {
    "substitution": _l("substitution"),
    "cancellation": _l("cancellation"),
    "room_change": _l("room change"),
}
NOTICE_LABELS = {"news": _l("news"), "event": _l("event"), "quarantine": _l("quarantine")}
ENROLMENT_LABELS = {
    "admission": _l("admission"),
    "transfer": _l("transfer"),
    "leaving": _l("leaving"),
}
AVERAGE_LABELS = {"weighted": _l("weighted"), "arithmetic": _l("arithmetic")}
KIND_LABELS = {"students": _l("students"), "staff": _l("staff"), "classes": _l("classes")}
WEEKDAY_LABELS = {
    1: _l("Monday"),
    2: _l("Tuesday"),
    3: _l("Wednesday"),
    4: _l("Thursday"),
    5: _l("Friday"),
    6: _l("Saturday"),
}


def choices(rows: Iterable[Any], label: Any = str, empty: Any = None) -> list[SelectChoice]:
    """Select choices from rows with an ``id``; ``empty`` adds a first «none» choice."""
    options = [SelectChoice("", empty)] if empty is not None else []
    return options + [SelectChoice(row.id, label(row)) for row in rows]


def pairs(items: Iterable[tuple[Any, Any]], empty: Any = None) -> list[SelectChoice]:
    """Choices from ``(value, label)`` pairs; ``empty`` adds a first «none» choice."""
    options = [SelectChoice("", empty)] if empty is not None else []
    return options + [SelectChoice(value, label) for value, label in items]


def show_errors(form: FlaskForm, error: FormErrors) -> None:
    """Put a service's complaints on the form's fields (or on the form as a whole)."""
    for name, messages in error.errors.items():
        target = form._fields.get(name) if name else None
        if target is None:
            form.form_errors.extend(messages)
        else:
            target.errors = [*target.errors, *messages]


class EmptyForm(FlaskForm):
    """A button that changes something: the CSRF token only."""


class MunicipalityForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(REQUIRED), Length(max=200)])


class SchoolForm(FlaskForm):
    municipality_id = SelectField(
        _l("Municipality"), coerce=coerce_optional_id, validators=[InputRequired(CHOOSE)]
    )
    name = StringField(_l("Full name"), validators=[DataRequired(REQUIRED), Length(max=300)])
    short_name = StringField(_l("Short name"), validators=[Optional(), Length(max=100)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=300)])


class SubjectForm(FlaskForm):
    name = StringField(_l("Subject"), validators=[DataRequired(REQUIRED), Length(max=100)])
    short_name = StringField(_l("Short name"), validators=[Optional(), Length(max=30)])


class YearForm(FlaskForm):
    name = StringField(
        _l("Name"),
        validators=[Optional(), Length(max=20)],
        description=_l("For example 2026/2027."),
    )
    starts_on = DateField(_l("First day"), format=DATE_FORMATS, validators=[DataRequired(DATE)])
    ends_on = DateField(_l("Last day"), format=DATE_FORMATS, validators=[DataRequired(DATE)])
    period_kind = SelectField(
        _l("The year is divided into"),
        choices=[SelectChoice(kind, PERIOD_LABELS[kind]) for kind in PERIOD_KINDS],
        validators=[InputRequired(CHOOSE)],
    )


class SpanForm(FlaskForm):
    starts_on = DateField(_l("From"), format=DATE_FORMATS, validators=[DataRequired(DATE)])
    ends_on = DateField(_l("To (inclusive)"), format=DATE_FORMATS, validators=[DataRequired(DATE)])


class HolidayForm(SpanForm):
    name = StringField(_l("Name"), validators=[DataRequired(REQUIRED), Length(max=100)])


class BellForm(FlaskForm):
    number = IntegerField(
        _l("Lesson number"),
        validators=[InputRequired(REQUIRED), NumberRange(1, 12, _l("From 1 to 12."))],
    )
    starts_at = TimeField(
        _l("Starts at"), format="%H:%M", validators=[DataRequired(_l("Enter the time as HH:MM."))]
    )
    ends_at = TimeField(
        _l("Ends at"), format="%H:%M", validators=[DataRequired(_l("Enter the time as HH:MM."))]
    )


class RolesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def roles_field() -> Any:
    return RolesField(
        _l("Roles"),
        choices=[SelectChoice(role, ROLE_LABELS[role]) for role in SCHOOL_ROLES],
        validators=[DataRequired(_l("Choose at least one role."))],
    )


class RolesForm(FlaskForm):
    roles = roles_field()


class PersonFields(FlaskForm):
    family_name = StringField(
        _l("Family name"), validators=[DataRequired(REQUIRED), Length(max=100)]
    )
    given_name = StringField(_l("Given name"), validators=[DataRequired(REQUIRED), Length(max=100)])
    middle_name = StringField(_l("Patronymic (if any)"), validators=[Optional(), Length(max=100)])
    snils = StringField(
        _l("SNILS"),
        validators=[DataRequired(REQUIRED), Length(max=20)],
        description=_l("It is not stored: the diary keeps only a key to match the person."),
    )


class StaffForm(PersonFields):
    position = StringField(_l("Position"), validators=[Optional(), Length(max=100)])
    roles = roles_field()


class ClassForm(FlaskForm):
    year_id = SelectField(
        _l("Academic year"), coerce=coerce_optional_id, validators=[InputRequired(CHOOSE)]
    )
    grade = IntegerField(
        _l("Grade"), validators=[InputRequired(REQUIRED), NumberRange(1, 11, _l("From 1 to 11."))]
    )
    letter = StringField(_l("Letter"), validators=[DataRequired(REQUIRED), Length(max=3)])
    class_teacher_id = SelectField(
        _l("Class teacher"), coerce=coerce_optional_id, validators=[Optional()]
    )


class ClassTeacherForm(FlaskForm):
    class_teacher_id = SelectField(
        _l("Class teacher"), coerce=coerce_optional_id, validators=[Optional()]
    )


class AdmitForm(PersonFields):
    birth_date = DateField(_l("Birth date"), format=DATE_FORMATS, validators=[DataRequired(DATE)])
    class_id = SelectField(
        _l("Class"), coerce=coerce_optional_id, validators=[InputRequired(CHOOSE)]
    )
    starts_on = DateField(_l("Enrolled from"), format=DATE_FORMATS, validators=[DataRequired(DATE)])
    note = StringField(_l("Note (order number)"), validators=[Optional(), Length(max=300)])


class TransferForm(FlaskForm):
    school_id = SelectField(
        _l("To school"), coerce=coerce_optional_id, validators=[InputRequired(CHOOSE)]
    )
    class_name = StringField(
        _l("To class"),
        validators=[DataRequired(REQUIRED), Length(max=10)],
        description=_l("For example 7Б."),
    )
    on = DateField(_l("From"), format=DATE_FORMATS, validators=[DataRequired(DATE)])
    note = StringField(_l("Note (order number)"), validators=[Optional(), Length(max=300)])


class LeaveForm(FlaskForm):
    on = DateField(_l("Leaves from"), format=DATE_FORMATS, validators=[DataRequired(DATE)])
    note = StringField(_l("Note (order number)"), validators=[Optional(), Length(max=300)])


class GuardianForm(PersonFields):
    reason = StringField(
        _l("Grounds for the link"),
        validators=[DataRequired(REQUIRED), Length(max=300)],
        description=_l(
            "For example: the parent's application of 01.09.2026, birth certificate seen."
        ),
    )


class AssignmentForm(FlaskForm):
    class_id = SelectField(
        _l("Class"), coerce=coerce_optional_id, validators=[InputRequired(CHOOSE)]
    )
    subject_id = SelectField(
        _l("Subject"), coerce=coerce_optional_id, validators=[InputRequired(CHOOSE)]
    )
    teacher_id = SelectField(
        _l("Teacher"), coerce=coerce_optional_id, validators=[InputRequired(CHOOSE)]
    )


class ChangeForm(FlaskForm):
    class_id = SelectField(
        _l("Class"), coerce=coerce_optional_id, validators=[InputRequired(CHOOSE)]
    )
    on_date = DateField(_l("Date"), format=DATE_FORMATS, validators=[DataRequired(DATE)])
    lesson_number = SelectField(
        _l("Lesson"), coerce=coerce_optional_id, validators=[InputRequired(CHOOSE)]
    )
    kind = SelectField(
        _l("Change"),
        choices=[SelectChoice(kind, CHANGE_LABELS[kind]) for kind in TIMETABLE_CHANGE_KINDS],
        validators=[InputRequired(CHOOSE)],
    )
    substitute_id = SelectField(
        _l("Substitute teacher"), coerce=coerce_optional_id, validators=[Optional()]
    )
    room = StringField(_l("Room"), validators=[Optional(), Length(max=30)])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=300)])


class NoticeForm(FlaskForm):
    class_id = SelectField(_l("For"), coerce=coerce_optional_id, validators=[Optional()])
    kind = SelectField(
        _l("Kind"),
        choices=[SelectChoice(kind, NOTICE_LABELS[kind]) for kind in NOTICE_KINDS],
        validators=[InputRequired(CHOOSE)],
    )
    title = StringField(_l("Title"), validators=[DataRequired(REQUIRED), Length(max=200)])
    body = TextAreaField(_l("Text"), validators=[Optional(), Length(max=5000)])
    starts_on = DateField(_l("Shown from"), format=DATE_FORMATS, validators=[DataRequired(DATE)])
    ends_on = DateField(_l("Shown until (inclusive)"), format=DATE_FORMATS, validators=[Optional()])


class MeetingForm(FlaskForm):
    class_id = SelectField(
        _l("Class"), coerce=coerce_optional_id, validators=[InputRequired(CHOOSE)]
    )
    held_at = DateTimeLocalField(
        _l("Date and time"),
        format=DATETIME_FORMATS,
        validators=[DataRequired(_l("Enter the date and time."))],
    )
    place = StringField(_l("Place"), validators=[DataRequired(REQUIRED), Length(max=200)])
    agenda = TextAreaField(_l("Agenda"), validators=[DataRequired(REQUIRED), Length(max=5000)])


class PolicyForm(FlaskForm):
    average = SelectField(
        _l("Average"),
        choices=[SelectChoice(kind, AVERAGE_LABELS[kind]) for kind in AVERAGES],
        validators=[InputRequired(CHOOSE)],
    )
    threshold_5 = DecimalField(
        _l("«5» from"), places=2, validators=[InputRequired(_l("Enter a number such as 4.60."))]
    )
    threshold_4 = DecimalField(
        _l("«4» from"), places=2, validators=[InputRequired(_l("Enter a number such as 3.60."))]
    )
    threshold_3 = DecimalField(
        _l("«3» from"), places=2, validators=[InputRequired(_l("Enter a number such as 2.60."))]
    )

    def weight_fields(self) -> list[Any]:
        return [self[f"weight_{kind}"] for kind in MARK_KINDS]

    @property
    def weights(self) -> dict[str, int]:
        return {kind: self[f"weight_{kind}"].data for kind in MARK_KINDS}

    @property
    def thresholds(self) -> dict[str, Any]:
        return {mark: self[f"threshold_{mark}"].data for mark in ("5", "4", "3")}


# One weight per kind of work, 1–10.
for _kind in MARK_KINDS:
    setattr(
        PolicyForm,
        f"weight_{_kind}",
        IntegerField(
            MARK_KIND_LABELS[_kind],
            validators=[
                InputRequired(REQUIRED),
                NumberRange(1, 10, _l("A whole number from 1 to 10.")),
            ],
        ),
    )


class RatingForm(FlaskForm):
    enabled = BooleanField(
        _l("Rank students within their class (the school's local act allows it)")
    )


class ImportForm(FlaskForm):
    kind = SelectField(
        _l("What the file holds"),
        choices=[SelectChoice(kind, KIND_LABELS[kind]) for kind in KINDS],
        validators=[InputRequired(CHOOSE)],
    )
    file = FileField(_l("CSV file"), validators=[FileRequired(_l("Choose a file."))])


def timetable_form(
    numbers: list[int],
    subjects: list[SelectChoice],
    teachers: list[SelectChoice],
    data: dict[str, Any] | None = None,
) -> FlaskForm:
    """The weekly grid as one form: for each weekday × lesson number a subject, a
    teacher and a room (fields ``c<weekday>_<number>_subject`` and so on)."""

    class TimetableForm(FlaskForm):
        pass

    for weekday in WEEKDAY_LABELS:
        for number in numbers:
            prefix = f"c{weekday}_{number}"
            setattr(
                TimetableForm,
                f"{prefix}_subject",
                SelectField(_l("Subject"), choices=subjects, coerce=coerce_optional_id),
            )
            setattr(
                TimetableForm,
                f"{prefix}_teacher",
                SelectField(_l("Teacher"), choices=teachers, coerce=coerce_optional_id),
            )
            setattr(
                TimetableForm,
                f"{prefix}_room",
                StringField(_l("Room"), validators=[Optional(), Length(max=30)]),
            )
    # A POST fills the fields from the request; ``data`` is the saved grid for a GET.
    return TimetableForm(data=data)


def show_timetable_errors(form: FlaskForm, error: TimetableErrors) -> None:
    for (weekday, number), messages in error.cells.items():
        field = form._fields.get(f"c{weekday}_{number}_subject")
        if field is None:
            form.form_errors.extend(messages)
        else:
            field.errors = [*field.errors, *messages]
