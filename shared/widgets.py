"""WTForms' text, hidden and select widgets, rendering exactly the same HTML faster.

A form with a row of fields per student (the journal's bulk marks form: about ten
fields and forty options a student) spent most of its page's time in WTForms'
``html_params``, which formats every attribute through ``Markup.format`` (Python's
``string.Formatter``), and in rendering each ``<option>`` of identical selects again.
``html_params`` here builds the same text with plain string operations, and the select
keeps the few distinct options it has rendered (value, label, selected). The output is
byte for byte WTForms' own (``tests/shared/test_widgets.py`` compares them).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from markupsafe import Markup, escape
from wtforms.widgets import HiddenInput, Select, TextInput
from wtforms.widgets.core import clean_key


def html_params(**kwargs: Any) -> Markup:
    """``wtforms.widgets.html_params``: attributes sorted by name, ``True`` as a bare
    attribute, ``False`` left out, values escaped (quotes too)."""
    params = []
    for key, value in sorted(kwargs.items()):
        key = clean_key(key)
        if value is True:
            params.append(key)
        elif value is False:
            continue
        else:
            params.append(f'{escape(key)}="{str(escape(value)).replace(chr(34), "&quot;")}"')
    # Every name and value was escaped above, as WTForms escapes them.
    return Markup(" ".join(params))  # noqa: S704


class _FastInput:
    """``wtforms.widgets.Input.__call__`` reading the field's set flags directly (its
    ``dir(flags)`` costs as much as the rest)."""

    input_type: str
    validation_attrs: list[str]

    def __call__(self, field: Any, **kwargs: Any) -> Markup:
        if getattr(field, "_datalist", None) is not None:
            return super().__call__(field, **kwargs)  # type: ignore[misc]
        kwargs.setdefault("id", field.id)
        kwargs.setdefault("type", self.input_type)
        if "value" not in kwargs:
            kwargs["value"] = field._value()
        # What ``dir(flags)`` lists of the validation attributes: the ones set on it.
        flags = getattr(getattr(field, "flags", None), "__dict__", {})
        for key in self.validation_attrs:
            if key in flags and key not in kwargs:
                value = flags[key]
                kwargs[key] = value() if callable(value) else value
        return Markup(f"<input {html_params(name=field.name, **kwargs)}>")  # noqa: S704


class FastTextInput(_FastInput, TextInput):
    pass


class FastHiddenInput(_FastInput, HiddenInput):
    pass


@lru_cache(maxsize=4096)
def _option(value: str, label: str, selected: bool) -> str:
    """One ``<option>`` from its escaped value and label (``selected`` sorts first)."""
    value = value.replace('"', "&quot;")
    return f'<option {"selected " if selected else ""}value="{value}">{label}</option>'


class FastSelect(Select):
    """``wtforms.widgets.Select`` (single choice, no groups, no per-option attributes:
    anything else is left to WTForms' own rendering)."""

    def __call__(self, field: Any, **kwargs: Any) -> Markup:
        if self.multiple or field.has_groups():
            return super().__call__(field, **kwargs)
        choices = list(field._iter_choices_normalized())
        if any(choice.render_kw for choice in choices):
            return super().__call__(field, **kwargs)
        kwargs.setdefault("id", field.id)
        flags = getattr(field, "flags", {})
        for key in dir(flags):
            if key in self.validation_attrs and key not in kwargs:
                kwargs[key] = getattr(flags, key)
        html = [f"<select {html_params(name=field.name, **kwargs)}>"]
        for choice in choices:
            value = str(choice.value) if isinstance(choice.value, bool) else choice.value
            label = escape(choice.label or choice.value)
            html.append(_option(str(escape(value)), str(label), bool(choice.selected)))
        html.append("</select>")
        # The select's attributes and each option's value and label are escaped.
        return Markup("".join(html))  # noqa: S704
