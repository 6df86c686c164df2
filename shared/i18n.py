"""Languages: Russian by default, English selectable.

Choice order: the switcher's cookie, then the browser's Accept-Language, then Russian.
Each app's catalog sits beside the shared one (error pages, common words), and Flask-Babel
merges the directories. Catalogs are compiled by the build (``make``), never committed.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from babel import dates
from flask import Blueprint, Flask, current_app, g, has_request_context, redirect, request
from flask_babel import Babel, format_date, get_locale, get_timezone, get_translations

from shared.security import safe_next

LANGUAGES = ("ru", "en")
DEFAULT_LANGUAGE = "ru"
COOKIE = "lang"
SHARED_TRANSLATIONS = Path(__file__).resolve().parent / "translations"

bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    if not has_request_context():  # commands and jobs: the default, or force_locale
        return DEFAULT_LANGUAGE
    for wanted in getattr(g, "ui_locales", ()):  # OpenID Connect ui_locales, in order
        if wanted.split("-")[0] in LANGUAGES:
            return wanted.split("-")[0]
    chosen = request.cookies.get(COOKIE)
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE


@bp.get("/lang/<code>")
def switch_language(code: str):
    response = redirect(safe_next(request.args.get("next")))
    if code in LANGUAGES:
        response.set_cookie(
            COOKIE,
            code,
            max_age=365 * 24 * 3600,
            samesite="Lax",
            secure=current_app.config["SESSION_COOKIE_SECURE"],
            httponly=True,
        )
    return response


def init_i18n(app: Flask, app_translations: Path) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = f"{app_translations};{SHARED_TRANSLATIONS}"
    # A Babel object per app, not one for all: Flask-Babel caches the loaded catalogs on
    # it by locale alone, so apps sharing one (tests, the dev stack's processes if they
    # ever share one) would all get the catalog of whichever app loaded it first.
    Babel(
        app,
        locale_selector=select_locale,
        default_timezone=app.config.get("TIMEZONE", "Europe/Moscow"),
    )
    app.register_blueprint(bp)
    app.jinja_env.globals["get_locale"] = get_locale
    # Flask-Babel's own callables find the catalog anew for every string (about 30 µs a
    # call, hundreds of calls a page): these look it up once per request and locale.
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: request_translations().ugettext(s),
        ngettext=lambda s, p, n: request_translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: request_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: request_translations().unpgettext(c, s, p, n),
    )
    app.jinja_env.filters["dateformat"] = format_day_pattern


def request_translations():
    """Flask-Babel's ``get_translations()``, kept for the rest of the request while the
    locale stays the same (``force_locale`` changes it, and the catalog with it)."""
    if not g:
        return get_translations()
    locale = get_locale()
    cached = g.get("_i18n_catalog")
    if cached is None or cached[0] is not locale:
        cached = g._i18n_catalog = (locale, get_translations())
    return cached[1]


def format_day_pattern(value=None, format=None, rebase=True) -> str:
    """The ``dateformat`` filter: Flask-Babel's ``format_date``, with a date (not a
    datetime) and an explicit pattern (``'d MMMM'``) formatted by Babel directly with the
    request's locale and the parsed pattern Babel caches: the same text, a third of the
    time."""
    if (
        type(value) is date
        and format not in (None, "short", "medium", "long", "full")
        and (locale := get_locale()) is not None
    ):
        return dates.parse_pattern(format).apply(value, locale)
    return format_date(value, format, rebase)


def local_today() -> date:
    """Today in the app's time zone (``TIMEZONE``, Moscow by default): the calendar day
    people there live in, which is not the server's (UTC) date from 21:00 UTC."""
    return datetime.now(get_timezone()).date()
