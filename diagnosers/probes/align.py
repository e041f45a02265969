"""Align the script's lines, in order, to the clip's speech (dynamic programming over silero frames).

Speech segments alone are brittle (a VAD splits a line at a breath, merges two turns, misses a
quiet word under music), so the aligner works on silero's per-frame speech probability p(t):
it places each line as one interval, in script order, without overlap, maximising the speech
inside the intervals and the silence outside them, with a prior on each line's length from its
planned relative duration (`estimate_line_seconds`, scaled to the clip's speaking rate). A line
may be left out at a cost (a dropped line). Only the script and the audio are used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from diagnosers.media import ClipMedia
from diagnosers.probes.features import VAD_S, Span
from diagnosers.probes.speech_model import fused_speech_probs
from scenes.schema import estimate_line_seconds

LENGTH_WEIGHT = 12.0  # cost per unit |log(length / planned length)| (swept 1..20 on fitting clips; see docs/probes.md)
SKIP_LINE = 6.0  # cost of a line with no speech (in frames of clear speech it would need to beat)
MIN_RATIO, MAX_RATIO = 0.25, 3.0  # a line lasts between these multiples of its planned length


@dataclass(frozen=True)
class LineSpan:
    index: int
    span: Span | None  # None: no speech found for the line
    speech: float = 0.0  # mean speech probability inside the span
    gap_before: float | None = None  # silence between the previous found line and this one

    @property
    def found(self) -> bool:
        return self.span is not None

    @property
    def shared(self) -> bool:
        """No silence between this line and the previous one (overlapping or glued turns)."""
        return self.gap_before is not None and self.gap_before < 0.07


def planned_durations(media: ClipMedia) -> list[float]:
    scene = media.scene
    if scene is None:
        raise ValueError("line alignment needs the scene script (ClipMedia.scene is None)")
    return [estimate_line_seconds(line, scene.character(line.speaker).voice.rate) for line in scene.lines]


def align_lines(media: ClipMedia) -> list[LineSpan]:
    """Each script line's measured speech span (cached per clip)."""
    return media.feature("line_alignment", _align)


def _align(media: ClipMedia) -> list[LineSpan]:
    p = fused_speech_probs(media).astype(np.float64)
    expected = planned_durations(media)
    n_lines, n = len(expected), len(p)
    reward = 2.0 * p - 1.0  # +1 clear speech, -1 clear silence
    cum = np.concatenate([[0.0], np.cumsum(reward)])
    speech_s = float((p > 0.5).sum()) * VAD_S
    scale = min(2.0, max(0.5, speech_s / max(1e-6, sum(expected))))
    neg = -1e18
    # G[i][t]: best score with lines < i placed, the last ending at or before frame t
    G = np.full((n_lines + 1, n + 1), neg)
    G[0, :] = 0.0
    choice = np.zeros((n_lines + 1, n + 1), np.int64)  # start frame of line i-1 ending at t, -1 skip, -2 carry
    for i in range(n_lines):
        planned = max(0.2, scale * expected[i]) / VAD_S
        lo, hi = max(1, int(MIN_RATIO * planned)), max(2, int(MAX_RATIO * planned))
        lengths = np.arange(lo, hi + 1)
        prior = LENGTH_WEIGHT * np.abs(np.log(lengths / planned))
        row = np.full(n + 1, neg)
        arg = np.full(n + 1, -2, np.int64)
        for e in range(1, n + 1):
            starts = e - lengths
            ok = starts >= 0
            if ok.any():
                s = starts[ok]
                val = G[i, s] + 2.0 * (cum[e] - cum[s]) - prior[ok]
                k = int(np.argmax(val))
                row[e], arg[e] = val[k], s[k]
        skip = G[i] - SKIP_LINE
        take_skip = skip > row
        row[take_skip], arg[take_skip] = skip[take_skip], -1
        for e in range(1, n + 1):  # carry: the line may end earlier than t
            if row[e - 1] > row[e]:
                row[e], arg[e] = row[e - 1], -2
        G[i + 1], choice[i + 1] = row, arg
    spans: list[Span | None] = [None] * n_lines
    t = n
    for i in range(n_lines, 0, -1):
        while choice[i, t] == -2 and t > 0:
            t -= 1
        c = int(choice[i, t])
        if c == -1 or t == 0:
            spans[i - 1] = None
            continue
        spans[i - 1] = Span(round(c * VAD_S, 3), round(t * VAD_S, 3))
        t = c
    out, prev_end = [], None
    for i, span in enumerate(spans):
        if span is None:
            out.append(LineSpan(i, None))
            continue
        a, b = int(round(span.start / VAD_S)), int(round(span.end / VAD_S))
        speech = float(p[a:b].mean()) if b > a else 0.0
        gap = None if prev_end is None else max(0.0, span.start - prev_end)
        out.append(LineSpan(i, span, speech, gap))
        prev_end = span.end
    return out


def line_speech_fraction(media: ClipMedia, span: Span) -> float:
    """Share of a span's silero frames that are speech (p > 0.5)."""
    p = fused_speech_probs(media)
    a, b = int(span.start / VAD_S), max(int(span.start / VAD_S) + 1, int(math.ceil(span.end / VAD_S)))
    return float((p[a:b] > 0.5).mean()) if b > a else 0.0
