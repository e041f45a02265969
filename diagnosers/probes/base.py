"""What a probe returns: per failure mode, a score (higher = more evidence the mode is present).

A probe measures one family of signals (speech timing, voice identity, picture statistics...) and
reports a `ModeScore` per mode it covers: a clip-level score, per-line scores for line-scoped modes,
and scored time windows for temporal items. Thresholds live apart from the probes
(`diagnosers/probes/thresholds.json`, fitted from labelled clips) so that refitting needs no code.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from diagnosers.media import ClipMedia


@dataclass
class ModeScore:
    mode: str
    score: float | None  # None: the clip gives nothing to measure this mode on (e.g. no speech)
    lines: dict[int, float] = field(default_factory=dict)
    windows: list[tuple[float, float, float]] = field(default_factory=list)  # (start, end, score)
    detail: dict[str, Any] = field(default_factory=dict)

    def line_score(self, index: int) -> float | None:
        return self.lines.get(index)


class Probe(Protocol):
    name: str
    modes: tuple[str, ...]

    def measure(self, media: ClipMedia) -> list[ModeScore]: ...


@dataclass(frozen=True)
class FunctionProbe:
    """A probe made from a function `media -> list[ModeScore]`; its docstring says what it measures.

    `sound_only`: it reads the sound and the script, never the picture; `sound_features`: the parts of
    it that do (features `media -> value`). The judge computes those on its sound lane while the
    picture is still being decoded (decision 223); they change when things are computed, not what.
    """

    name: str
    modes: tuple[str, ...]
    fn: Callable[[ClipMedia], list[ModeScore]]
    sound_only: bool = False
    sound_features: tuple[Callable[[ClipMedia], Any], ...] = ()

    def measure_sound(self, media: ClipMedia) -> None:
        """What of this probe can be computed from the sound alone: all of it, or its `sound_features`."""
        if self.sound_only:
            self.measure(media)
            return
        for feature in self.sound_features:
            feature(media)

    def measure(self, media: ClipMedia) -> list[ModeScore]:
        return media.feature(f"probe:{self.name}", self.fn)

    @property
    def doc(self) -> str:
        return (self.fn.__doc__ or "").strip()


PROBES: list[FunctionProbe] = []


def probe(name: str, modes: tuple[str, ...], *, sound_only: bool = False,
          sound_features: tuple[Callable[[ClipMedia], Any], ...] = ()) -> Callable[[Callable[[ClipMedia], list[ModeScore]]], FunctionProbe]:
    """Register a probe function covering `modes` (`sound_only`, `sound_features`: see `FunctionProbe`)."""

    def deco(fn: Callable[[ClipMedia], list[ModeScore]]) -> FunctionProbe:
        p = FunctionProbe(name, modes, fn, sound_only, tuple(sound_features))
        PROBES.append(p)
        return p

    return deco


@lru_cache(maxsize=16)
def load_model(path: str) -> dict | None:
    """A fitted model file's JSON, read once per path (None when there is none). A fit that writes one
    calls `load_model.cache_clear()` so the probes read what it wrote."""
    p = Path(path)
    return json.loads(p.read_text(encoding="utf-8")) if p.is_file() else None
