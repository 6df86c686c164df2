"""Today is the region's date (``TIMEZONE``), not the server's UTC date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from diary_service import clock


@pytest.mark.parametrize("zone", ["Asia/Yekaterinburg", "Pacific/Kiritimati", "Etc/GMT+12"])
def test_today_is_the_date_in_the_regions_time_zone(diary, zone):
    diary.config["TIMEZONE"] = zone
    try:
        before = datetime.now(ZoneInfo(zone)).date()
        found = clock.today()
        after = datetime.now(ZoneInfo(zone)).date()
    finally:
        diary.config["TIMEZONE"] = "Europe/Moscow"
    assert found in (before, after)


def test_the_two_far_zones_see_different_days(diary):
    # UTC+14 and UTC−12 are 26 hours apart: never the same date.
    days = []
    for zone in ("Pacific/Kiritimati", "Etc/GMT+12"):
        diary.config["TIMEZONE"] = zone
        days.append(clock.today())
    diary.config["TIMEZONE"] = "Europe/Moscow"
    assert days[0] - days[1] in (timedelta(days=1), timedelta(days=2))
    assert datetime.now(UTC).date() in (days[0], days[1], days[0] - timedelta(days=1))
