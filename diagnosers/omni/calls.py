"""Robust calls: a token-bucket rate limiter, a concurrency slot, retries with backoff + jitter.

Adapters classify their SDK's exceptions into the three outcomes below; `call_with_retries`
does the rest the same way for every provider:

- `Transient` (429, 5xx, 408, timeouts, dropped connections): wait and try again, honouring the
  server's retry-after; a 429's wait also pauses the shared limiter so other threads back off too
  (no 429 storm).
- `QuotaExhausted` (a daily quota, or a retry-after longer than any run should wait): stop at once,
  never loop until tomorrow.
- anything else: a permanent failure of this request, not retried.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
SlotFactory = Callable[[], contextlib.AbstractContextManager[object]]


class Transient(Exception):
    """A failure worth retrying; `retry_after` is the server's hint in seconds, if any."""

    def __init__(self, message: str, retry_after: float | None = None, *, rate_limited: bool = False, immediate: bool = False):
        super().__init__(message)
        self.retry_after = retry_after
        self.rate_limited = rate_limited
        self.immediate = immediate  # ask again at once, not counted as an attempt (a changed request, e.g. a format downgrade)


class QuotaExhausted(Exception):
    """The key's quota is spent (e.g. requests per day): the judge stops asking until it resets."""


class CallFailed(Exception):
    """A request that failed for good (after retries, or at once for a permanent error)."""

    def __init__(self, message: str, attempts: int):
        super().__init__(message)
        self.attempts = attempts


class TokenBucket:
    """Thread-safe token bucket: `acquire()` blocks until a request may start; `pause()` holds everyone."""

    def __init__(self, rate: float, burst: int = 1, clock: Callable[[], float] = time.monotonic):
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        self.rate = float(rate)
        self.capacity = float(max(1, burst))
        self._clock = clock
        self._tokens = self.capacity
        self._stamp = clock()
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping as needed; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
                if now < self._paused_until:
                    delay = self._paused_until - now
                elif self._tokens >= 1.0 - 1e-9:  # tolerance: float refill may land a hair under 1
                    self._tokens = max(0.0, self._tokens - 1.0)
                    return waited
                else:
                    delay = (1.0 - self._tokens) / self.rate
            time.sleep(delay)
            waited += delay

    def pause(self, seconds: float) -> None:
        """Hold every caller for `seconds` (a 429's retry-after) and drop the saved-up burst."""
        with self._lock:
            until = self._clock() + max(0.0, seconds)
            self._paused_until = max(self._paused_until, until)
            self._tokens = 0.0


@dataclass
class RetryPolicy:
    max_attempts: int = 6
    backoff_s: float = 1.0
    backoff_max_s: float = 60.0
    jitter: float = 0.5
    retry_after_max_s: float = 300.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Exponential backoff with jitter; a server's retry-after is a floor, never shortened."""
        base = min(self.backoff_max_s, self.backoff_s * (2 ** (attempt - 1)))
        wait = base * (1.0 + self.jitter * rng.random())
        if retry_after is not None:
            wait = max(wait, retry_after)
        return wait


@dataclass
class CallStats:
    """Counters of one judge's calls (summed over threads)."""

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    waited_s: float = 0.0


class CallRunner:
    """Runs one provider call at a time through the limiter, the concurrency slot, and the retry policy."""

    def __init__(
        self,
        policy: RetryPolicy,
        limiter: TokenBucket,
        concurrency: int,
        slot: SlotFactory | None = None,
        *,
        seed: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.policy = policy
        self.limiter = limiter
        self.semaphore = threading.BoundedSemaphore(concurrency)
        self.slot = slot
        self.stats = CallStats()
        self._rng = random.Random(seed)
        self._sleep = sleep
        self._lock = threading.Lock()

    def _count(self, **deltas: float) -> None:
        with self._lock:
            for name, delta in deltas.items():
                setattr(self.stats, name, getattr(self.stats, name) + delta)

    def call(self, fn: Callable[[], T], describe: Callable[[BaseException], str] = str) -> tuple[T, int]:
        """`fn()` with retries; returns (result, attempts). Raises QuotaExhausted or CallFailed."""
        attempt = 0
        while True:
            attempt += 1
            outer = self.slot() if self.slot is not None else contextlib.nullcontext()
            with outer, self.semaphore:
                waited = self.limiter.acquire()
                self._count(requests=1, waited_s=waited)
                try:
                    return fn(), attempt
                except Transient as exc:
                    failure: Transient = exc
                except (QuotaExhausted, CallFailed):
                    raise
                except Exception as exc:  # permanent: a bad request, auth, a bug in the request
                    raise CallFailed(describe(exc), attempt) from exc
            if failure.immediate:
                attempt -= 1
                continue
            # sleep outside the slot and semaphore so waiting never blocks other requests
            if failure.retry_after is not None and failure.retry_after > self.policy.retry_after_max_s:
                raise QuotaExhausted(
                    f"{failure} (server asks to wait {failure.retry_after:.0f}s, more than retry_after_max_s="
                    f"{self.policy.retry_after_max_s:.0f}s)"
                )
            if attempt >= self.policy.max_attempts:
                raise CallFailed(f"gave up after {attempt} attempts: {failure}", attempt)
            with self._lock:
                delay = self.policy.delay(attempt, failure.retry_after, self._rng)
            if failure.rate_limited:
                self._count(rate_limited=1)
                self.limiter.pause(delay)  # everyone waits, so a 429 does not become a storm
            self._count(retries=1)
            self._sleep(delay)
