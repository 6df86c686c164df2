"""Finding a service in the catalog: search by words in either language (stop words
dropped, endings folded), a card by its slug, and who may apply online."""

from __future__ import annotations

import re

from flask_babel import force_locale

from portal.catalog.catalog import CATALOG, PublicService
from portal.identity.models import Citizen
from portal.proofing.services import is_at_least
from shared.errors import NotFound

# Words that say nothing about a service ("доступ к дневнику", "access to the diary").
# fmt: off
_STOPWORDS = frozenset({
    "и", "в", "во", "на", "к", "ко", "по", "для", "о", "об", "от", "до", "с", "со", "у", "за",
    "из", "как", "мой", "моя", "мое", "мои", "моего", "моей",
    "a", "an", "the", "to", "of", "for", "in", "on", "at", "and", "my", "me", "how",
})
# Inflectional endings, longest first, so that «дневнику» finds «дневник» and "diaries"
# finds "diary". A stem keeps at least three letters.
_ENDINGS = sorted({
    "иями", "ями", "ами", "ого", "его", "ому", "ему", "ыми", "ими", "ой", "ей", "ий", "ый",
    "ая", "яя", "ое", "ее", "ые", "ие", "ых", "их", "ую", "юю", "ом", "ем", "ам", "ям", "ах",
    "ях", "ов", "ев", "а", "я", "о", "е", "ы", "и", "у", "ю", "ь", "й",
    "ies", "es", "s", "y", "e",
}, key=len, reverse=True)
# fmt: on
_WORD = re.compile(r"\w+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.casefold().replace("ё", "е"))


def _stem(word: str) -> str:
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)]
    return word


def _searchable(service: PublicService) -> list[str]:
    # Titles in both languages: a Russian query finds a card shown in English too.
    texts = list(service.keywords)
    for locale in ("ru", "en"):
        with force_locale(locale):
            texts += [str(service.title), str(service.category)]
    return [word for text in texts for word in _words(text)]


def search(query: str) -> list[PublicService]:
    """Services whose title, category or keywords hold every meaningful word of the
    query (in any inflection, either language, any case); all of them for an empty one."""
    wanted = [_stem(word) for word in _words(query) if word not in _STOPWORDS]
    if not wanted:
        return list(CATALOG)
    found = []
    for service in CATALOG:
        words = _searchable(service)
        if all(any(word.startswith(stem) for word in words) for stem in wanted):
            found.append(service)
    return found


def service(slug: str) -> PublicService:
    for candidate in CATALOG:
        if candidate.slug == slug:
            return candidate
    raise NotFound()


def online_service(slug: str) -> PublicService:
    """A service that can be applied for on the portal (NotFound for the others)."""
    found = service(slug)
    if not found.online:
        raise NotFound()
    return found


def can_apply(citizen: Citizen | None) -> bool:
    return citizen is not None and is_at_least(citizen, "standard")
