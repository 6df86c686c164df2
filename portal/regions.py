"""The regions whose diaries sign people in through the portal (``DIARY_REGIONS``): read
by the family's and the catalog's pages and by the federation that talks to the diaries."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app


@dataclass(frozen=True)
class Region:
    """A region whose diary signs people in through the portal."""

    code: str
    name: str
    url: str  # the diary's address, ending in "/"
    client_id: str  # the diary's OAuth client at the portal


def regions() -> list[Region]:
    """The configured regions (``DIARY_REGIONS``), in the configured order."""
    found = []
    for entry in current_app.config.get("DIARY_REGIONS") or []:
        url = str(entry["url"])
        found.append(
            Region(
                code=str(entry["code"]),
                name=str(entry["name"]),
                url=url if url.endswith("/") else url + "/",
                client_id=str(entry["client_id"]),
            )
        )
    return found
