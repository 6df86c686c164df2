"""A per-process cache of small things that change rarely and are read on every request:
the OpenID Provider's clients and signing keys.

Each entry lives ``ttl`` seconds at most, so a change made by another server process
(a client disabled, a key rotated) is seen everywhere within that time; the process
that makes a change clears its own cache at once. ``ttl`` 0 turns caching off. Entries
must be immutable or detached values: they are shared by the process's threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")

_ALL: list[TimedCache] = []


def _now() -> float:
    """The cache's clock (a name of its own, so a test can move it)."""
    return time.monotonic()


class TimedCache(Generic[V]):
    def __init__(self, max_entries: int = 256) -> None:
        self.max_entries = max_entries
        self._items: dict[Hashable, tuple[float, V]] = {}
        self._lock = threading.Lock()
        _ALL.append(self)

    def get(self, key: Hashable, ttl: float, load: Callable[[], V | None]) -> V | None:
        """The cached value of ``key``, or ``load()``'s (cached unless None)."""
        now = _now()
        hit = self._items.get(key)
        if hit is not None and now - hit[0] < ttl:
            return hit[1]
        value = load()
        if value is not None and ttl > 0:
            with self._lock:
                if len(self._items) >= self.max_entries:
                    self._items.clear()  # a bounded cache: unknown keys cannot grow it
                self._items[key] = (now, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def clear_all() -> None:
    """Forget everything every cache of this process holds (the test suite calls it when
    it empties the database)."""
    for cache in _ALL:
        cache.clear()
