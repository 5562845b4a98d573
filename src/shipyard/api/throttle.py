"""Wrong tokens and failed sign-ins, counted per client address: past a limit in a window, that
address is answered 429 until its oldest failure leaves the window. Kept in memory: each server
process counts its own, and a restart forgets."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

MAX_CLIENTS = 10_000  # addresses remembered at once; the quietest are forgotten first


class Throttle:
    """Counts failures per client address over the last `window_s` seconds."""

    def __init__(
        self, limit: int = 10, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def retry_after_s(self, client: str) -> int:
        """Seconds until `client` may try again; 0 when it may now."""
        times = self._recent(client)
        if len(times) < self.limit:
            return 0
        return max(1, math.ceil(times[0] + self.window_s - self._clock()))

    def failed(self, client: str) -> None:
        """Count a wrong token or a failed sign-in from `client`."""
        times = self._failures.pop(client, None) or deque(maxlen=self.limit)
        times.append(self._clock())
        self._failures[client] = times  # re-inserted: the dict's order is the order of last failure
        while len(self._failures) > MAX_CLIENTS:
            del self._failures[next(iter(self._failures))]

    def _recent(self, client: str) -> deque[float]:
        times = self._failures.get(client, deque())
        while times and times[0] <= self._clock() - self.window_s:
            times.popleft()
        return times
