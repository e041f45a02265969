"""Progress reporting from flows to whoever listens (the CLI's rich bars); silent by default."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Protocol


class ProgressSink(Protocol):
    def start(self, stage: str, total: int) -> None: ...

    def advance(self, stage: str, n: int = 1) -> None: ...


class _Silent:
    def start(self, stage: str, total: int) -> None:
        pass

    def advance(self, stage: str, n: int = 1) -> None:
        pass


_sink: ProgressSink = _Silent()


def sink() -> ProgressSink:
    return _sink


@contextmanager
def reporting(to: ProgressSink) -> Iterator[ProgressSink]:
    """Send the flows' progress to `to` while the block runs (flows run in this process)."""
    global _sink
    previous, _sink = _sink, to
    try:
        yield to
    finally:
        _sink = previous
