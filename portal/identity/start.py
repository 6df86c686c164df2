"""The cabinet's start page: what the citizen has to do or wait for now.

The things to do belong to the rooms above this one (documents being checked, children,
invitations, service applications), which this room may not import. Each of them
registers a provider here, as ``proofing.services.SNILS_CONFIRMED`` takes listeners: a
function of the citizen that returns its ``Task``s, called only when the start page is
shown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from portal.identity.models import Citizen

# The badge a task wears (shared/static/style.css): waiting (amber), error (red),
# ok (green), or info (blue).
WAITING, ERROR, OK, INFO = "waiting", "error", "ok", "info"


@dataclass(frozen=True)
class Task:
    title: str  # what it is about: "SNILS", "Иванов Пётр Сергеевич"
    status: str  # the state in a few words: "being checked", "not confirmed"
    kind: str = INFO  # the badge's colour
    text: str = ""  # a sentence more, if needed
    url: str | None = None  # where to act or to see more
    action: str | None = None  # the link's text


Provider = Callable[[Citizen], Iterable[Task]]
_providers: list[tuple[int, Provider]] = []


def provides(rank: int) -> Callable[[Provider], Provider]:
    """Register a provider of tasks; lower ranks come first on the page."""

    def register(provider: Provider) -> Provider:
        if all(known is not provider for _, known in _providers):
            _providers.append((rank, provider))
            _providers.sort(key=lambda pair: pair[0])
        return provider

    return register


def tasks_for(citizen: Citizen) -> list[Task]:
    return [task for _, provider in _providers for task in provider(citizen)]
