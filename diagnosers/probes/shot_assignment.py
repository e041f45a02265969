"""Scripted shots assigned to the detected ones in order (decision 215).

The cut detector misses a soft cut now and then and adds cuts inside hand-held, panning or flickering
shots: on the sparse fitting clips 5 % of true cuts are missed and a fifth of the detected cuts are
extra, and a quarter of the clips have more or fewer detected shots than scripted. `assign_cuts`
matches each scripted cut to at most one detected cut, in order, by a dynamic programme (an edit
alignment of the two cut sequences): a match costs the seconds of the aligned lines around the cut that
fall on its wrong side, a scripted cut left unmatched (a missed cut) and a detected cut left unmatched
(an extra cut, inside a shot) a fixed amount each. `assigned_spans` gives each scripted shot the time
between its two cuts: a run of detected shots when an extra cut splits it, part of one when a cut was
missed (placed where the lines put it).
"""

from __future__ import annotations

import numpy as np

# A scripted cut matched to a detected cut at t costs the seconds of aligned speech on the wrong side of
# t (lines of the shots before the cut that end after t, lines of the shots after it that start before
# t), over the `NEAR_SHOTS` shots on each side (farther lines say nothing about this cut), plus
# `DRIFT_WEIGHT` × the distance from where the lines put it (`expected_cuts`; this breaks ties
# between cuts inside a pause). Unmatched: `MISS_COST` per scripted cut, `EXTRA_COST` per detected cut.
# On the fitting clips whose counts differ, misses 1 / 2 / 4, extras 0.1 / 0.2 / 0.5 and drift
# 0.1 / 0.3 / 1 gave per-shot AUC 0.956-0.963 (decision 215).
NEAR_SHOTS = 2
DRIFT_WEIGHT = 0.3
MISS_COST = 2.0
EXTRA_COST = 0.2
# A missed cut's place is a guess from the lines: the spans on both sides stop this far short of it.
GUESS_MARGIN = 0.3
# The picture changes at a cut: a guess that a face track runs straight across (seen within this many
# seconds before and after it; a frozen picture holds the last shot's faces past the cut) moves to the
# nearest place between the neighbouring matched cuts that no face track runs across.
STEADY_S = 0.7


def expected_cuts(scene, spans: dict[int, tuple[float, float]], duration: float) -> list[float]:
    """Where each scripted cut should fall: at the end of the shot's last aligned line, else a pause
    before the next shot's first line, else the previous cut plus the shot's scripted length (or an
    even share of what is left)."""
    n = len(scene.shots)
    out: list[float] = []
    prev = 0.0
    for k in range(n - 1):
        shot, nxt = scene.shots[k], scene.shots[k + 1]
        own = [spans[i] for i in shot.lines if i in spans]
        after = [(i, spans[i]) for i in nxt.lines if i in spans]
        if own:
            t = max(b for _, b in own)
        elif after:
            i, (a, _) = min(after, key=lambda p: p[1][0])
            t = a - (scene.lines[i].pause_before_s if i < len(scene.lines) else 0.35)
        else:
            t = prev + (shot.duration_s or max(0.0, duration - prev) / (n - k))
        t = min(max(t, prev), duration)
        out.append(t)
        prev = t
    return out


def _match_cost(scene, spans: dict[int, tuple[float, float]], j: int, t: float, expected: float) -> float:
    """Seconds of the aligned lines near scripted cut j (after shot j) on the wrong side of a cut at t."""
    cost = 0.0
    for k in range(max(0, j - NEAR_SHOTS + 1), min(len(scene.shots), j + 1 + NEAR_SHOTS)):
        for i in scene.shots[k].lines:
            if i in spans:
                a, b = spans[i]
                cost += max(0.0, b - t) if k <= j else max(0.0, t - a)
    return cost + DRIFT_WEIGHT * abs(t - expected)


def assign_cuts(scene, spans: dict[int, tuple[float, float]], detected: list[float], duration: float,
                expected: list[float] | None = None) -> list[float | None]:
    """Per scripted cut, the detected cut (its time) it is matched to in order, or None (missed);
    `expected`: `expected_cuts`, when the caller has them."""
    n, m = len(scene.shots) - 1, len(detected)
    expected = expected_cuts(scene, spans, duration) if expected is None else expected
    cost = np.full((n + 1, m + 1), np.inf)
    step = np.zeros((n + 1, m + 1), np.int8)  # 0 match, 1 scripted cut missed, 2 detected cut extra
    cost[0, :] = EXTRA_COST * np.arange(m + 1)
    cost[:, 0] = MISS_COST * np.arange(n + 1)
    step[1:, 0], step[0, 1:] = 1, 2
    for j in range(1, n + 1):
        for i in range(1, m + 1):
            options = (cost[j - 1, i - 1] + _match_cost(scene, spans, j - 1, detected[i - 1], expected[j - 1]),
                       cost[j - 1, i] + MISS_COST, cost[j, i - 1] + EXTRA_COST)
            step[j, i] = int(np.argmin(options))
            cost[j, i] = options[step[j, i]]
    out: list[float | None] = [None] * n
    j, i = n, m
    while j > 0 or i > 0:
        s = step[j, i]
        if s == 0:
            out[j - 1] = detected[i - 1]
        j, i = (j - 1, i - 1) if s == 0 else (j - 1, i) if s == 1 else (j, i - 1)
    return out


def _steady_at(tracks, t: float) -> bool:
    """Whether a face track is seen within `STEADY_S` before t and after it."""
    return any(any(t - STEADY_S <= f.t < t for f in tr.faces) and any(t <= f.t <= t + STEADY_S for f in tr.faces)
               for tr in tracks)


def _clear_of_faces(tracks, guess: float, lo: float, hi: float) -> float:
    """The place in (lo, hi) nearest `guess` that no face track runs across (`guess` when none is)."""
    if not _steady_at(tracks, guess):
        return guess
    times = sorted({f.t for tr in tracks for f in tr.faces if lo <= f.t <= hi})
    places = [(a + b) / 2 for a, b in zip(times[:-1], times[1:])] + [t + 0.01 for t in times]
    clear = [c for c in places if lo < c < hi and not _steady_at(tracks, c)]
    return min(clear, key=lambda c: abs(c - guess)) if clear else guess


def assigned_spans(scene, spans: dict[int, tuple[float, float]], detected: list[tuple[float, float]],
                   duration: float, tracks=()) -> list[tuple[float, float] | None]:
    """Each scripted shot's span between its assigned cuts; a missed cut is placed where the lines put
    it (moved clear of face tracks running across it) and the spans stop `GUESS_MARGIN` short of it on
    both sides. None for a shot squeezed to nothing."""
    cuts = [a for a, _ in detected[1:]]
    expected = expected_cuts(scene, spans, duration)
    matched = assign_cuts(scene, spans, cuts, duration, expected)
    edges: list[tuple[float, float]] = [(0.0, 0.0)]  # (time, margin)
    for j, t in enumerate(matched):
        if t is not None:
            edges.append((t, 0.0))
            continue
        # between the neighbouring matched cuts
        lo = max([c for c in matched[:j] if c is not None] + [edges[-1][0]])
        hi = min([c for c in matched[j + 1:] if c is not None] + [duration])
        edges.append((_clear_of_faces(tracks, float(np.clip(expected[j], lo, hi)), lo, hi), GUESS_MARGIN))
    edges.append((duration, 0.0))
    out: list[tuple[float, float] | None] = []
    for (a, ma), (b, mb) in zip(edges[:-1], edges[1:]):
        a, b = a + ma, b - mb
        out.append((a, b) if b - a > 0.1 else None)
    return out
