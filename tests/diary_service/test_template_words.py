"""The templates' words and dates in the reader's language (``shared/i18n.py``): the
catalog a request found is kept for it, and ``force_locale`` (a message written in
Russian whatever the sender reads) still switches words and dates inside a request."""

from __future__ import annotations

from datetime import date

from flask import render_template_string
from flask_babel import force_locale

TEMPLATE = "{{ _('Average') }} · {{ day|dateformat('d MMMM') }} · {{ 4.5|number }}"


def render() -> str:
    return render_template_string(TEMPLATE, day=date(2026, 12, 7))


def test_words_follow_the_request_and_force_locale(diary_app):
    with diary_app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert render() == "Average · 7 December · 4.5"
        with force_locale("ru"):
            assert render() == "Средний балл · 7 декабря · 4,5"
        assert render() == "Average · 7 December · 4.5"
    with diary_app.test_request_context("/", headers={"Accept-Language": "ru"}):
        assert render() == "Средний балл · 7 декабря · 4,5"
