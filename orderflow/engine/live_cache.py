"""Live workflows kept in memory between requests, so a step skips reading and deserializing the state
it wrote.

An entry is the workflow object together with the token of the state it was stored as (a random value
the service writes with every state, ``instances.state_token``). A request may use it only while the
database still names that very token: another worker, another node, a rolled-back write or a
migration each leave another token (or the old one) and so miss and reload: the database stays the
one truth, and a hit costs no read of the state at all. An entry is *taken* out while a request uses
it, so two threads never share a workflow; it goes back when the request has stored (or only read)
it. Bounded by memory: the least recently used go first.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from orderflow.engine import store

#: a deserialized workflow takes about this many times the bytes of its JSON state (7.3 measured on the
#: order flow: tasks, specs by reference, data dicts per task; and 2.2 more once stored: the kept dicts
#: of its finished tasks, store.py); the JSON's, not the compressed state's
BYTES_PER_STATE_CHAR = 10


@dataclass
class Entry:
    token: str
    spec: Any        # the compiled definition the workflow was built on: another one means a miss
    workflow: Any
    size: int


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    evictions: int = 0


def size_of(state: str) -> int:
    """The bytes a workflow deserialized from ``state`` takes, about."""
    return size_of_json(store.json_length(state))


def size_of_json(chars: int) -> int:
    """The bytes a workflow whose state is ``chars`` of JSON takes, about."""
    return chars * BYTES_PER_STATE_CHAR


class LiveWorkflows:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max(0, max_bytes)
        self.stats = CacheStats()
        self._entries: OrderedDict[Any, Entry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def bytes(self) -> int:
        return self._bytes

    def take(self, key: Any, token: str | None, spec: Any) -> Entry | None:
        """The entry of the workflow stored under ``token`` on ``spec``, removed from the cache; else
        None (and whatever older entry the key had is dropped: it can never match again)."""
        if not self.enabled:
            return None
        with self._lock:
            entry = self._entries.pop(key, None)
            if entry is not None:
                self._bytes -= entry.size
            if entry is None or token is None or entry.spec is not spec or entry.token != token:
                self.stats.misses += 1
                return None
            self.stats.hits += 1
            return entry

    def put(self, key: Any, token: str, spec: Any, workflow: Any, size: int) -> None:
        """Keep ``workflow`` as the one stored under ``token`` (``size``: its bytes, ``size_of``);
        the oldest entries leave to make room."""
        if not self.enabled or size > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.size
            self._entries[key] = Entry(token, spec, workflow, size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= evicted.size
                self.stats.evictions += 1

    def discard(self, key: Any) -> None:
        with self._lock:
            entry = self._entries.pop(key, None)
            if entry is not None:
                self._bytes -= entry.size

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0
