"""Passwords already checked, remembered briefly so HTTP Basic does not pay the hash each request.

An API client sends its password with every request, and a password hash is slow on purpose
(scrypt: tens of milliseconds). Like Elasticsearch's realm cache, a password that matched a
stored hash is remembered for a few minutes as an HMAC under a key made at start and never
stored, so memory holds neither the password nor anything checkable outside this process.
The stored hash is part of what is remembered: a changed password (a new hash) matches nothing
remembered, at once, on every node. Only matches are remembered; a wrong password always pays
the full check (and the log-in throttle before it). Whether the user is active is not the
cache's business: the caller checks it on every request.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

_KEY = secrets.token_bytes(32)


class VerifiedPasswords:
    """At most ``size`` remembered matches, each for ``seconds`` (of ``clock``, monotonic time)."""

    def __init__(self, size: int = 4096, seconds: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.size, self.seconds, self.clock = size, seconds, clock
        self._kept: OrderedDict[bytes, float] = OrderedDict()   # digest -> when it was checked
        self._lock = threading.Lock()

    @staticmethod
    def _digest(stored_hash: str, password: str) -> bytes:
        return hmac.new(_KEY, f"{stored_hash}\0{password}".encode(), hashlib.sha256).digest()

    def matches(self, stored_hash: str, password: str) -> bool:
        """Whether ``password`` was found to match ``stored_hash`` within the last ``seconds``."""
        digest = self._digest(stored_hash, password)
        with self._lock:
            checked = self._kept.get(digest)
            if checked is None:
                return False
            if self.clock() - checked >= self.seconds:
                del self._kept[digest]
                return False
            return True

    def remember(self, stored_hash: str, password: str) -> None:
        if self.size <= 0 or self.seconds <= 0:
            return
        digest = self._digest(stored_hash, password)
        with self._lock:
            self._kept[digest] = self.clock()
            self._kept.move_to_end(digest)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()


VERIFIED = VerifiedPasswords()
