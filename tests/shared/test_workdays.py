"""Working days by the Russian production calendar: weekends, public holidays, the days
off the Government moves by decree and the Saturdays it makes working."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from shared.workdays import add_working_days, is_working_day, term_end, working_days_between


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 12, 4), True),  # an ordinary Friday
        (date(2026, 12, 5), False),  # Saturday
        (date(2026, 12, 6), False),  # Sunday
        (date(2026, 12, 30), True),
        (date(2026, 12, 31), False),  # a day off moved from Sunday 4 January 2026
        (date(2027, 1, 1), False),  # New Year holidays (Labour Code art. 112)
        (date(2027, 1, 7), False),  # Christmas
        (date(2027, 1, 8), False),
        (date(2027, 1, 11), True),  # the first working day of 2027
        (date(2027, 2, 20), True),  # a working Saturday by the 2027 decree
        (date(2027, 2, 22), False),  # ... whose day off is this Monday
        (date(2027, 2, 23), False),  # Defender of the Fatherland Day
        (date(2026, 6, 12), False),  # Russia Day
        (date(2026, 11, 4), False),  # Unity Day
    ],
)
def test_is_working_day(day, working):
    assert is_working_day(day) is working


@pytest.mark.parametrize(
    ("start", "days", "end"),
    [
        # 30 Dec, then nothing until 11 Jan: Dec 31 is moved off, Jan 1-10 are days off.
        (date(2026, 12, 29), 3, date(2027, 1, 12)),
        (date(2026, 12, 4), 1, date(2026, 12, 7)),  # Friday + 1 = Monday
        (date(2026, 12, 4), 3, date(2026, 12, 9)),  # Friday + 3 = Wednesday
        (date(2026, 12, 5), 1, date(2026, 12, 7)),  # from a Saturday: Monday
        (date(2027, 2, 19), 1, date(2027, 2, 20)),  # the working Saturday counts
        (date(2027, 2, 20), 1, date(2027, 2, 24)),  # 21 Sunday, 22 moved off, 23 holiday
        (date(2026, 12, 7), 0, date(2026, 12, 7)),
    ],
)
def test_add_working_days(start, days, end):
    assert add_working_days(start, days) == end


def test_a_negative_term_is_refused():
    with pytest.raises(ValueError):
        add_working_days(date(2026, 12, 4), -1)


def test_working_days_between_counts_after_the_start_up_to_the_end():
    # Tue 29.12.2026 → Tue 12.01.2027: the 30th, then the 11th and 12th (31.12 moved off).
    assert working_days_between(date(2026, 12, 29), date(2027, 1, 12)) == 3
    assert working_days_between(date(2026, 12, 4), date(2026, 12, 7)) == 1  # Fri → Mon
    assert working_days_between(date(2026, 12, 7), date(2026, 12, 7)) == 0
    assert working_days_between(date(2026, 12, 8), date(2026, 12, 7)) == 0


def test_a_term_starts_from_the_local_day_it_was_received():
    # 22:30 UTC on Sunday 6 December is already Monday the 7th in Moscow.
    late_sunday = datetime(2026, 12, 6, 22, 30)
    assert term_end(late_sunday, 3, "Europe/Moscow") == date(2026, 12, 10)
    assert term_end(late_sunday, 3, "UTC") == date(2026, 12, 9)
