"""Input shapes of the journal: a lesson's topic and homework, the bulk form of a
lesson's marks and attendance, remarks, and the period/year marks of a class.

The bulk forms have fields per student and per mark, so their classes are built for
the sheet they show (WTForms' documented way to make dynamic forms). Field names:
``s<student id>_*`` for a student's row (new mark, attendance, reason, what was shown),
``m<mark id>_*`` for an existing mark, ``p``/``y<student id>_*`` for period/year marks.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    MultipleFileField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional
from wtforms.validators import ValidationError as FieldError

from diary_service.journal import services
from diary_service.journal.entries import MarkInput, Problem, Seen, StudentEntry
from diary_service.journal.finals import FinalMarkInput, FinalSheet
from diary_service.journal.grid import LessonSheet
from diary_service.journal.homework import Upload
from diary_service.models.journal import ATTENDANCE_CODES, MARK_KINDS, REMARK_KINDS
from diary_service.school.policy import Rule
from shared.errors import ValidationError
from shared.forms import DateField, coerce_id
from shared.validators import is_ascii_number
from shared.widgets import FastHiddenInput, FastSelect, FastTextInput


def mark_value(form: Any, field: Any) -> None:
    """A field validator: the input is a mark (or empty)."""
    try:
        services.parse_mark_value(field.data)
    except ValidationError as error:
        raise FieldError(error.message) from None


def kind_choices(rule: Rule) -> list[SelectChoice]:
    return [
        SelectChoice(
            kind,
            str(
                _l(
                    "%(kind)s (weight %(weight)d)",
                    kind=services.kind_label(kind),
                    weight=rule.weight_of(kind),
                )
            ),
        )
        for kind in MARK_KINDS
    ]


def attendance_choices() -> list[SelectChoice]:
    return [SelectChoice("", "—")] + [
        SelectChoice(code, f"{code} — {services.attendance_label(code)}")
        for code in ATTENDANCE_CODES
    ]


class LessonForm(FlaskForm):
    topic = StringField(_l("Topic of the lesson"), validators=[Optional(), Length(max=500)])
    homework = TextAreaField(_l("Homework"), validators=[Optional(), Length(max=5000)])
    due_on = DateField(_l("Due on"), validators=[Optional()])
    attachments = MultipleFileField(_l("Attach files"))
    save = SubmitField(_l("Save topic and homework"))

    def uploads(self) -> list[Upload]:
        return [
            Upload(filename=storage.filename or "", data=storage.read())
            for storage in self.attachments.data or []
            if getattr(storage, "filename", None)
        ]


class RemarkForm(FlaskForm):
    student = SelectField(_l("Student"), coerce=coerce_id, validators=[DataRequired()])
    kind = SelectField(
        _l("About"),
        choices=[SelectChoice(kind, services.REMARK_KIND_LABELS[kind]) for kind in REMARK_KINDS],
    )
    text = TextAreaField(_l("Remark to the parents"), validators=[DataRequired(), Length(max=1000)])
    add = SubmitField(_l("Add the remark"))


def remark_form(sheet: LessonSheet, **kwargs: Any) -> RemarkForm:
    # Prefixed: the lesson page has other forms with a "kind" field.
    form = RemarkForm(prefix="remark", **kwargs)
    form.student.choices = [
        SelectChoice(row.student.id, row.student.full_name) for row in sheet.rows
    ]
    return form


# One row of these a student: WTForms' widgets, rendering the same HTML faster.
TEXT, HIDDEN, SELECT = FastTextInput(), FastHiddenInput(), FastSelect()


class MarksForm(FlaskForm):
    """The lesson's bulk form; ``marks_form`` adds the per-student fields."""

    kind = SelectField(_l("Kind of work for new marks"))
    save_marks = SubmitField(_l("Save marks and attendance"))


def marks_form(sheet: LessonSheet, rule: Rule, **kwargs: Any) -> MarksForm:
    kinds = kind_choices(rule)
    as_chosen = [SelectChoice("", str(_l("as chosen above"))), *kinds]
    attendance = attendance_choices()
    fields: dict[str, Any] = {}
    for row in sheet.rows:
        sid = row.student.id
        for mark in row.marks:
            fields[f"m{mark.id}_value"] = StringField(
                default=services.mark_label(mark.value), validators=[mark_value], widget=TEXT
            )
            fields[f"m{mark.id}_kind"] = SelectField(
                choices=kinds, default=mark.kind, widget=SELECT
            )
            fields[f"m{mark.id}_comment"] = StringField(
                default=mark.comment, validators=[Length(max=500)], widget=TEXT
            )
        fields[f"s{sid}_value"] = StringField(validators=[mark_value], widget=TEXT)
        fields[f"s{sid}_kind"] = SelectField(choices=as_chosen, default="", widget=SELECT)
        fields[f"s{sid}_comment"] = StringField(validators=[Length(max=500)], widget=TEXT)
        fields[f"s{sid}_attendance"] = SelectField(
            choices=attendance, default=row.code, widget=SELECT
        )
        fields[f"s{sid}_reason"] = StringField(validators=[Length(max=300)], widget=TEXT)
        fields[f"s{sid}_seen_marks"] = HiddenField(
            default=",".join(str(mark.id) for mark in row.marks), widget=HIDDEN
        )
        fields[f"s{sid}_seen_attendance"] = HiddenField(
            default=str(row.attendance.id) if row.attendance else "", widget=HIDDEN
        )
    form_class = type("LessonMarksForm", (MarksForm,), fields)
    form = form_class(**kwargs)
    form.kind.choices = kinds
    if not form.kind.data:
        form.kind.data = services.DEFAULT_KIND
    return form


def _ids(text: str | None) -> frozenset[int]:
    return frozenset(int(part) for part in (text or "").split(",") if is_ascii_number(part.strip()))


def _id(text: str | None) -> int | None:
    return int(text) if text and is_ascii_number(text.strip()) else None


def student_entries(form: MarksForm, sheet: LessonSheet) -> list[StudentEntry]:
    """The service's input from a validated bulk form."""
    entries = []
    for row in sheet.rows:
        sid = row.student.id
        marks = [
            MarkInput(
                key=f"m{mark.id}",
                mark_id=mark.id,
                value=form[f"m{mark.id}_value"].data or "",
                kind=form[f"m{mark.id}_kind"].data or mark.kind,
                comment=form[f"m{mark.id}_comment"].data or "",
            )
            for mark in row.marks
        ]
        marks.append(
            MarkInput(
                key=f"s{sid}",
                value=form[f"s{sid}_value"].data or "",
                kind=form[f"s{sid}_kind"].data or form.kind.data or services.DEFAULT_KIND,
                comment=form[f"s{sid}_comment"].data or "",
            )
        )
        entries.append(
            StudentEntry(
                key=f"s{sid}",
                student_id=sid,
                marks=tuple(marks),
                attendance=form[f"s{sid}_attendance"].data or "",
                reason=form[f"s{sid}_reason"].data or "",
                seen=Seen(
                    mark_ids=_ids(form[f"s{sid}_seen_marks"].data),
                    attendance_id=_id(form[f"s{sid}_seen_attendance"].data),
                ),
            )
        )
    return entries


def show_problems(form: FlaskForm, problems: list[Problem]) -> None:
    """Put the service's problems next to the fields they are about; the rest above
    the form."""
    for problem in problems:
        name = f"{problem.key}_{problem.field}"
        if problem.key and name in form:
            form[name].errors = [*form[name].errors, problem.message]
        else:
            form.form_errors.append(problem.message)


class FinalMarksForm(FlaskForm):
    save = SubmitField(_l("Save period and year marks"))


def final_marks_form(sheet: FinalSheet, **kwargs: Any) -> FinalMarksForm:
    fields: dict[str, Any] = {}
    for row in sheet.rows:
        sid = row.member.student.id
        for prefix, final, value in (
            ("p", row.period_final, row.period_value),
            ("y", row.year_final, row.year_value),
        ):
            fields[f"{prefix}{sid}_value"] = StringField(
                default=services.mark_label(value) if value else "", validators=[mark_value]
            )
            fields[f"{prefix}{sid}_seen"] = HiddenField(default=str(final.id) if final else "")
        fields[f"s{sid}_reason"] = StringField(validators=[Length(max=300)])
    form_class = type("ClassFinalMarksForm", (FinalMarksForm,), fields)
    return form_class(**kwargs)


def final_entries(form: FinalMarksForm, sheet: FinalSheet) -> list[FinalMarkInput]:
    entries = []
    for row in sheet.rows:
        sid = row.member.student.id
        reason = form[f"s{sid}_reason"].data or ""
        for prefix, kind in (("p", "period"), ("y", "year")):
            entries.append(
                FinalMarkInput(
                    key=f"{prefix}{sid}",
                    student_id=sid,
                    kind=kind,
                    value=form[f"{prefix}{sid}_value"].data or "",
                    reason=reason,
                    seen_id=_id(form[f"{prefix}{sid}_seen"].data),
                    checked=True,
                )
            )
    return entries


def show_final_problems(form: FinalMarksForm, problems: list[Problem]) -> None:
    """As ``show_problems``; a missing reason belongs to the row's one reason field."""
    moved = []
    for problem in problems:
        if problem.field == "reason" and problem.key[:1] in ("p", "y"):
            problem = Problem(f"s{problem.key[1:]}", "reason", problem.message)
        moved.append(problem)
    show_problems(form, moved)
