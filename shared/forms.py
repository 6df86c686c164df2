"""Form fields both apps use instead of WTForms' own where a value ends up in a query or
in date arithmetic: numbers and dates bounded as ``shared.validators`` says (ids fit a
the databases' integer columns, dates lie in 1900…2100), refused with a message in the user's language.

WTForms' fields take any ``int`` and any year 1…9999: 2^31 overflows PostgreSQL's
integer, 9999-12-31 plus a week overflows ``date``, and either answered 500.
"""

from __future__ import annotations

from typing import Any

import wtforms
from flask_babel import lazy_gettext as _l

from shared.validators import FIRST_DATE, LAST_DATE, MAX_ID, parse_whole_number

# Dates as Russians write them, shown and typed as ДД.ММ.ГГГГ; ISO (what a date picker
# or an old link sends) is taken too. The first format is the one a form shows back.
DATE_FORMATS = ["%d.%m.%Y", "%Y-%m-%d"]
DATE_OUT_OF_RANGE = _l("Enter a date between the years %(first)d and %(last)d.")
NUMBER_OUT_OF_RANGE = _l("The number is too large.")


def _date_out_of_range() -> str:
    return str(DATE_OUT_OF_RANGE) % {"first": FIRST_DATE.year, "last": LAST_DATE.year}


class _Bounded:
    """The range check of the fields below. An out-of-range value leaves ``data`` empty
    (a view that shows a default on a bad value never computes with it) and is the
    field's one error, even where ``DataRequired`` would say "fill in" of the emptied
    field."""

    out_of_range: str | None = None
    errors: Any
    data: Any

    def refuse(self, message: str) -> None:
        self.data = None
        self.out_of_range = message
        raise ValueError(message)

    def post_validate(self, form: Any, validation_stopped: bool) -> None:
        if self.out_of_range is not None:
            self.errors[:] = [self.out_of_range]


class DateField(_Bounded, wtforms.DateField):
    """``wtforms.DateField`` that refuses dates outside 1900…2100."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.out_of_range = None
        super().process_formdata(valuelist)
        if self.data is not None and not FIRST_DATE <= self.data <= LAST_DATE:
            self.refuse(_date_out_of_range())


class DateTimeLocalField(_Bounded, wtforms.DateTimeLocalField):
    """``wtforms.DateTimeLocalField`` that refuses days outside 1900…2100."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.out_of_range = None
        super().process_formdata(valuelist)
        if self.data is not None and not FIRST_DATE <= self.data.date() <= LAST_DATE:
            self.refuse(_date_out_of_range())


class IntegerField(_Bounded, wtforms.IntegerField):
    """``wtforms.IntegerField`` that refuses numbers an ``integer`` column cannot hold."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.out_of_range = None
        super().process_formdata(valuelist)
        if self.data is not None and not -MAX_ID <= self.data <= MAX_ID:
            self.refuse(str(NUMBER_OUT_OF_RANGE))


def coerce_id(value: Any) -> int:
    """A select's ``coerce`` for ids: 0 … 2^31 − 1 or ``ValueError`` (which the select
    reports as an invalid choice), where ``int`` would take any size."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return parse_whole_number(value)


def coerce_optional_id(value: Any) -> int | None:
    """``coerce_id``, with None for the empty choice."""
    if value in (None, "", "None"):
        return None
    return coerce_id(value)
