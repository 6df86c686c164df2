"""``shared.widgets`` renders exactly what WTForms' own widgets render (the journal's
bulk form uses them for speed; a page must not change by a byte)."""

from __future__ import annotations

import pytest
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from wtforms import Form, HiddenField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length
from wtforms.widgets import HiddenInput, Select, TextInput, html_params

from shared.widgets import FastHiddenInput, FastSelect, FastTextInput
from shared.widgets import html_params as fast_html_params

CHOICES = [
    SelectChoice("", "—"),
    SelectChoice("Н", 'Н — "absent" & <late>'),
    SelectChoice("control", "контрольная (вес 5)"),
    SelectChoice('a"b', Markup("<b>bold</b>")),
]


@pytest.mark.parametrize(
    "attributes",
    [
        {},
        {"name": "s1_value", "id": "s1_value", "value": ""},
        {"class_": "mark-input", "size": 5, "maxlength": 12, "autocomplete": "off"},
        {"aria_label": 'Оценка «Иванов» "Пётр" & <b>', "data_row_id": 3},
        {"required": True, "disabled": False, "value": Markup("<i>x</i>")},
    ],
)
def test_html_params_are_wtforms_own(attributes):
    assert fast_html_params(**attributes) == html_params(**attributes)


def form_class(text_widget, hidden_widget, select_widget):
    class TheForm(Form):
        value = StringField(validators=[Length(max=12)], widget=text_widget)
        comment = StringField(default='«ok» & "fine"', widget=text_widget)
        needed = StringField(validators=[DataRequired()], widget=text_widget)
        seen = HiddenField(default="1,2,3", widget=hidden_widget)
        attendance = SelectField(choices=CHOICES, default="Н", widget=select_widget)
        kind = SelectField(choices=CHOICES, default="", widget=select_widget)
        number = SelectField(
            choices=[SelectChoice(1, "один"), SelectChoice(2, "два")],
            coerce=int,
            default=2,
            widget=select_widget,
        )

    return TheForm


@pytest.mark.parametrize(
    "formdata", [None, MultiDict({"value": "5<", "attendance": 'a"b', "kind": "nothing"})]
)
def test_fields_render_the_same(formdata):
    ours = form_class(FastTextInput(), FastHiddenInput(), FastSelect())(formdata)
    theirs = form_class(TextInput(), HiddenInput(), Select())(formdata)
    for name in ("value", "comment", "needed", "seen", "attendance", "kind", "number"):
        kwargs = {"aria_label": f"«{name}» & co", "class_": "x"}
        assert str(ours[name](**kwargs)) == str(theirs[name](**kwargs))
        assert str(ours[name]()) == str(theirs[name]())
    assert "required" in str(ours["needed"]()) and 'maxlength="12"' in str(ours["value"]())
    # Selected options follow the data, rendered or cached.
    chosen = 'value="a&#34;b"' if formdata else 'value="Н"'
    assert f"selected {chosen}" in str(ours["attendance"]())
    assert str(ours["kind"]()).count("selected") == (0 if formdata else 1)
