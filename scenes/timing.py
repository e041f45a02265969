"""Planned timeline of a scene: when each line and shot would start from the script alone.

Renderers that know real speech durations lay out their own timeline with the same rules
(`layout_timeline` with measured durations); QA templates use the planned one to size the
temporal bins of a scene before any clip exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scenes.schema import Scene

LEAD_IN_S = 0.6
TAIL_S = 0.8
BIN_SECONDS = 2.0


@dataclass(frozen=True)
class Span:
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def mid(self) -> float:
        return 0.5 * (self.start + self.end)


@dataclass(frozen=True)
class Timeline:
    lines: tuple[Span, ...]
    shots: tuple[Span, ...]
    duration_s: float

    def bins(self, bin_s: float = BIN_SECONDS) -> int:
        return max(1, int(-(-self.duration_s // bin_s)))


def layout_timeline(scene: Scene, line_seconds: Sequence[float], pauses: Sequence[float] | None = None) -> Timeline:
    """Place lines one after another (pause, then speech) and cut shots at the first line's pause."""
    pauses = list(pauses) if pauses is not None else [line.pause_before_s for line in scene.lines]
    line_spans: list[Span | None] = [None] * len(scene.lines)
    shot_spans: list[Span] = []
    t = LEAD_IN_S
    for s, shot in enumerate(scene.shots):
        shot_start = 0.0 if s == 0 else t
        if not shot.lines:
            t = shot_start + float(shot.duration_s or 1.0)
        for index in shot.lines:
            t += pauses[index]
            line_spans[index] = Span(round(t, 3), round(t + line_seconds[index], 3))
            t += line_seconds[index]
        shot_end = t if s < len(scene.shots) - 1 else t + TAIL_S
        if shot.lines and s < len(scene.shots) - 1:
            shot_end = t  # the next shot begins right after the last line of this one
        shot_spans.append(Span(round(shot_start, 3), round(shot_end, 3)))
        t = shot_end
    duration = shot_spans[-1].end
    return Timeline(tuple(sp for sp in line_spans if sp is not None), tuple(shot_spans), round(duration, 3))


def plan_timeline(scene: Scene) -> Timeline:
    """The timeline from estimated speech durations (no audio rendered)."""
    from scenes.schema import estimate_line_seconds

    seconds = [estimate_line_seconds(line, scene.character(line.speaker).voice.rate) for line in scene.lines]
    return layout_timeline(scene, seconds)
