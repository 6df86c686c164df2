"""The Russian catalogs cover every string in the code and templates, and keep placeholders.

Each package has its own catalog (``<package>/translations/ru/LC_MESSAGES/messages.po``);
the portal's also serves the dev-inbox simulator. The extraction here is the one
``make translations`` runs, so a string added without a translation fails with its text.
"""

from __future__ import annotations

import html.parser
import io
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from jinja2 import Environment

ROOT = Path(__file__).resolve().parents[2]
BABEL_CFG = ROOT / "config" / "babel.cfg"
PACKAGES = ("shared", "portal", "diary_service")
KEYWORDS = ("_l", "lazy_gettext", "gettext", "_")
RUSSIAN_PLURALS = (
    "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && "
    "(n%100<10 || n%100>=20) ? 1 : 2);"
)
TEMPLATE_DIRS = (
    "portal/templates",
    "portal/simulator/templates",
    "diary_service/templates",
    "shared/templates",
)
# Visible words that stay as they are in every language.
UNTRANSLATED_WORDS = {
    "RU",  # the language switcher names each language in itself
    "EN",
    "SMS",  # channel names in the dev inboxes
    "E-mail",
}
VISIBLE_ATTRIBUTES = {"alt", "title", "placeholder", "aria-label", "label"}
# printf-style conversions as Python's % operator reads them; %% is a literal percent.
PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]")
LETTER = re.compile(r"[^\W\d_]")
JINJA_MARK = "\x00"


def catalog_path(package: str) -> Path:
    return ROOT / package / "translations" / "ru" / "LC_MESSAGES" / "messages.po"


def load_catalog(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f)


def placeholders(text: str) -> Counter[str]:
    return Counter(m.group(0) for m in PLACEHOLDER.finditer(text) if m.group(0) != "%%")


def forms(value: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def extract_command(package: str, pot: Path) -> list[str]:
    """The extraction ``make translations`` runs (from the repository root)."""
    command = [sys.executable, "-m", "babel.messages.frontend", "-q", "extract"]
    command += ["-F", str(BABEL_CFG.relative_to(ROOT)), "--no-wrap", "-o", str(pot)]
    for keyword in KEYWORDS:
        command += ["-k", keyword]
    return [*command, package]


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Catalog]:
    """What ``pybabel extract`` finds in each package, read back as a catalog."""
    out = tmp_path_factory.mktemp("pot")
    result = {}
    for package in PACKAGES:
        pot = out / f"{package}.pot"
        subprocess.run(extract_command(package, pot), cwd=ROOT, check=True, timeout=120)
        result[package] = load_catalog(pot)
    return result


@pytest.mark.parametrize("package", PACKAGES)
def test_extraction_finds_strings(extracted: dict[str, Catalog], package: str) -> None:
    # Guards the configuration itself: templates and Python files are both read.
    sources = {loc[0] for message in extracted[package] if message.id for loc in message.locations}
    assert any(s.endswith(".html") for s in sources), f"no template strings in {package}"
    if package != "diary_service":
        assert any(s.endswith(".py") for s in sources), f"no Python strings in {package}"


def test_keyword_arguments_do_not_hide_strings(extracted: dict[str, Catalog]) -> None:
    # _l("... %(n)d ...", n=...) in Python and _('... %(name)s', name=...) in templates.
    found = {
        path.rsplit(".", 1)[-1]
        for message in extracted["portal"]
        if message.id and "%(" in message.id and message.python_format
        for path, _line in message.locations
    }
    assert found >= {"py", "html"}


@pytest.mark.parametrize("package", PACKAGES)
def test_every_string_is_translated(extracted: dict[str, Catalog], package: str) -> None:
    catalog = load_catalog(catalog_path(package))
    problems = []
    for source in extracted[package]:
        if not source.id:
            continue
        where = ", ".join(f"{path}:{line}" for path, line in source.locations)
        message = catalog.get(source.id, source.context)
        if message is None:
            problems.append(f"missing: {source.id!r} ({where})")
        elif message.fuzzy:
            problems.append(f"fuzzy: {source.id!r} ({where})")
        elif not all(s.strip() for s in forms(message.string)):
            problems.append(f"untranslated: {source.id!r} ({where})")
    assert not problems, (
        f"{catalog_path(package).relative_to(ROOT)} needs translations "
        "(run `make translations`, then translate):\n" + "\n".join(problems)
    )


@pytest.mark.parametrize("package", PACKAGES)
def test_translations_keep_placeholders(package: str) -> None:
    catalog = load_catalog(catalog_path(package))
    problems = []
    for message in catalog:
        if not message.id or not message.string:
            continue
        ids = forms(message.id)
        for translation in forms(message.string):
            if all(placeholders(translation) != placeholders(msgid) for msgid in ids):
                problems.append(f"{ids[0]!r} -> {translation!r}")
    assert not problems, "placeholders differ:\n" + "\n".join(problems)


@pytest.mark.parametrize("package", PACKAGES)
def test_catalog_header_and_compilation(package: str) -> None:
    path = catalog_path(package)
    catalog = load_catalog(path)
    headers = dict(catalog.mime_headers)
    assert headers["Language"] == "ru"
    assert headers["Plural-Forms"] == RUSSIAN_PLURALS
    assert "utf-8" in headers["Content-Type"].lower()
    assert not catalog.fuzzy, "a fuzzy header makes pybabel compile skip the catalog"
    errors = [(m.id, [str(e) for e in errs]) for m, errs in catalog.check()]
    assert not errors
    write_mo(io.BytesIO(), catalog)


def test_shared_strings_are_not_translated_twice() -> None:
    # Flask-Babel merges the app's catalog with the shared one (the shared one wins), so
    # a string present in both must read the same in both.
    shared = {m.id: m.string for m in load_catalog(catalog_path("shared")) if m.id}
    for package in ("portal", "diary_service"):
        for message in load_catalog(catalog_path(package)):
            if message.id in shared:
                assert message.string == shared[message.id], (package, message.id)


class _VisibleText(html.parser.HTMLParser):
    """Collects text a person sees; Jinja constructs are replaced by JINJA_MARK."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self._hidden = 0

    def _check(self, text: str) -> None:
        for piece in text.split(JINJA_MARK):
            piece = " ".join(piece.split())
            if LETTER.search(piece) and piece not in UNTRANSLATED_WORDS:
                self.found.append((self.getpos()[0], piece))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._hidden += 1
        for name, value in attrs:
            if name in VISIBLE_ATTRIBUTES and value:
                self._check(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self._check(data)


def template_files() -> list[Path]:
    return sorted(p for d in TEMPLATE_DIRS for p in (ROOT / d).rglob("*.html"))


def visible_literal_text(source: str) -> list[tuple[int, str]]:
    # Keep the template's literal data, with every {{ }}, {% %} and {# #} as one mark
    # (newlines kept so that line numbers stay right).
    parts = []
    for _lineno, kind, value in Environment(autoescape=True).lex(source):
        if kind == "data":
            parts.append(value)
        else:
            parts.append(JINJA_MARK + "\n" * value.count("\n"))
    parser = _VisibleText()
    parser.feed("".join(parts))
    parser.close()
    return parser.found


@pytest.mark.parametrize("template", template_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_templates_show_no_untranslated_text(template: Path) -> None:
    found = visible_literal_text(template.read_text(encoding="utf-8"))
    assert not found, "wrap visible text in {{ _('...') }}:\n" + "\n".join(
        f"{template.relative_to(ROOT)}:{line}: {text!r}" for line, text in found
    )


def test_template_check_catches_bare_text() -> None:
    source = '<p class="x">{{ _("Fine") }}</p>\n<p>Hello, {{ name }}!</p>\n<img alt="Logo" src="{{ u }}">'
    assert visible_literal_text(source) == [(2, "Hello,"), (3, "Logo")]
