"""Align the script's lines, in order, to the clip's speech (Viterbi over 32 ms speech frames).

Speech segments alone are brittle (a VAD splits a line at a breath, merges two turns, misses a
quiet word under music), so the aligner places every line as one interval on the fused speech
probability p(t) (`speech_model`), in script order, scoring (decision 087):

- **speech**: `EMISSION` × (2p − 1) summed over each line's frames (frames shared by two
  overlapping lines count once);
- **length**: a robust (Huber) cost on log(length / predicted length) in units of `LENGTH_SD`,
  the predicted length coming from the fitted text → duration model (`predicted_line_seconds`);
- **gaps**: the silence before each line should be the script's own (its pause, plus any shot
  without lines in between, from `plan_timeline`): a Huber cost in units of `GAP_SD` near it, and
  a flat cost for the two ways a turn goes wrong — a long silence (`LONG_GAP`) or no silence at
  all / an overlap (`NO_GAP`), so one faulty turn does not drag every later line with it;
- **edges**: the first line should start, and the last end, where the script's lead-in and tail
  put them (Huber in `EDGE_SD`, capped at `EDGE_CAP` so a trimmed clip still aligns);
- **a silent line**: a line may keep its time slot but carry no speech, at a cost `SILENT_LINE`
  (a dropped line: the slot is reported as `slot`, the span as None);
- **a cut-off line**: a line may stop at 45-80 % of its length with the next line starting at
  once (within `CUT_GAP`), at one cost `CUT` (one event, not a length error plus a glued turn).

Constants were swept on the fitting clips (procedural:sparse seeds 0-5, odd seeds scored, line
spans from their manifests): the share of lines with IoU > 0.5 went from 0.71 (the earlier
aligner) to 0.89. Only the script and the audio are used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from diagnosers.media import ClipMedia
from diagnosers.probes.features import VAD_S, Span
from diagnosers.probes.speech_model import fused_speech_probs, predicted_line_seconds
from scenes.timing import plan_timeline

EMISSION = 0.2  # weight of a frame's speech evidence (swept 0.15-1.0; higher lets beds stretch lines)
LENGTH_SD = 0.15  # log-length spread of the length prior (the duration model's residual is ~0.10)
GAP_SD = 0.12  # seconds: spread of a normal pause around the scripted one
GAP_RANGE = (-0.25, 0.7)  # seconds around the scripted pause that count as a normal turn
NO_GAP = 6.0  # cost of a glued or overlapping turn
LONG_GAP = 6.0  # cost of a silence longer than the normal range
MAX_OVERLAP = 1.6  # seconds a line may start before the previous one ends
SILENT_LINE = 8.0  # cost of a line that keeps its slot without speech
EDGE_SD, EDGE_CAP = 0.25, 6.0
MIN_RATIO, MAX_RATIO = 0.3, 1.9  # a line lasts between these multiples of its predicted length
# a line cut off by the next one: this share of its predicted length, then the next starts at once. With the cost
# `CUT` swept together on the fitting clips (decision 180; turn-taking AUC / BA of the fitted cut): (0.3, 0.8) at
# 4.5 0.958 / 0.879, at 4.0 0.960 / 0.893; at 4.0 (0.35, 0.8) 0.964 / 0.898, (0.4, 0.8) 0.968 / 0.904, (0.45, 0.8)
# 0.970 / 0.914, (0.5, 0.8) 0.969 / 0.909; a shorter range lets the cut explain fewer squeezed normal turns.
# Reaction timing, dropout and content deviation moved by <= 0.001 AUC.
CUT_RATIO = (0.45, 0.8)
# cost of a cut-off line (instead of its length cost and the glued turn's NO_GAP); at (0.45, 0.8) CUT 3.5 / 4.0 / 4.5
# read 0.963 / 0.970 / 0.952 (decision 180)
CUT = 4.0
CUT_GAP = 0.2  # seconds: the most silence between a cut-off line and the line that cuts it
MUTED_LINE = 8.0  # cost of a line heard only at first: spoken for a head of `MUTED_HEAD` of its length, then silent
MUTED_HEAD = (0.1, 0.65)
_NEG = -1e18


@dataclass(frozen=True)
class LineSpan:
    index: int
    span: Span | None  # None: no speech found for the line
    speech: float = 0.0  # mean speech probability inside the span
    gap_before: float | None = None  # silence between the previous found line and this one (negative: overlap)
    slot: Span | None = None  # where the timing puts the line (its span, or the silent stretch of a line with no speech)
    muted: bool = False  # heard only at first, silent for the rest of its slot

    @property
    def found(self) -> bool:
        return self.span is not None

    @property
    def shared(self) -> bool:
        """No silence between this line and the previous one (overlapping or glued turns)."""
        return self.gap_before is not None and self.gap_before < 0.07


def planned_durations(media: ClipMedia) -> list[float]:
    """Seconds each line should take (the fitted duration model, else the script's estimate)."""
    scene = media.scene
    if scene is None:
        raise ValueError("line alignment needs the scene script (ClipMedia.scene is None)")
    return predicted_line_seconds(scene)[0]


def scripted_gaps(media: ClipMedia) -> list[float]:
    """Silence the script puts before each line (line 0: from the clip start), from `plan_timeline`."""
    plan = plan_timeline(media.scene)
    return [plan.lines[0].start] + [plan.lines[i].start - plan.lines[i - 1].end for i in range(1, len(plan.lines))]


def align_lines(media: ClipMedia) -> list[LineSpan]:
    """Each script line's measured speech span (cached per clip)."""
    return media.feature("line_alignment", _align)


def _huber(z: np.ndarray | float) -> np.ndarray:
    z = np.abs(np.asarray(z, dtype=np.float64))
    return np.where(z < 2.0, 0.5 * z * z, 2.0 * z - 2.0)


def _inputs(media: ClipMedia) -> tuple[np.ndarray, list[float], list[float], float]:
    """Speech probabilities, each line's expected seconds, the scripted silence before each line, and the scripted tail."""
    scene = media.scene
    p = fused_speech_probs(media).astype(np.float64)
    expected = planned_durations(media)
    if predicted_line_seconds(scene)[1] is None:  # planned durations only: scale them to the clip's speech
        speech_s = float((p > 0.5).sum()) * VAD_S
        scale = min(2.0, max(0.5, speech_s / max(1e-6, sum(expected))))
        expected = [scale * e for e in expected]
    plan = plan_timeline(scene)
    return p, expected, scripted_gaps(media), plan.duration_s - plan.lines[-1].end


def _forward(cum: np.ndarray, expected: list[float], gaps: list[float], tail: float, cut: bool = True,
             reverse: bool = False) -> dict:
    """The Viterbi tables: per line, the best score of lines 0..i with line i ending at each frame (F, and Fc for a
    cut-off line i), the back-pointers, and the final scores with the tail prior.

    `reverse`: the tables of the reversed clip and script (the backward pass). A line cut off by the next one then
    comes *after* the line that cuts it: it starts straight after it (within `CUT_GAP`, entry `Hg`) and lasts a cut
    length at the cost `CUT`, so the backward pass weighs the same alignments as the forward one."""
    n = len(cum) - 1
    n_lines = len(expected)
    frames = np.arange(n + 1)
    start_of = np.zeros((n_lines, n + 1), np.int64)  # line i ending at e starts at start_of[i, e]
    silent = np.zeros((n_lines, n + 1), bool)
    muted = np.zeros((n_lines, n + 1), bool)
    cum_max, cum_min = _range_max(cum), _range_max(-cum)
    prev_end = np.zeros((n_lines, n + 1), np.int64)  # line i starting at s follows a line ending at prev_end[i, s]
    cut_start = np.zeros((n_lines, n + 1), np.int64)  # the same for a cut-off line i ending at e
    after_cut = np.zeros((n_lines, n + 1), bool)  # line i starting at s cuts the previous line off
    Fs, Fcs, Hs, Hgs = [], [], [], []
    F = np.zeros(n + 1)
    Fc = np.full(n + 1, _NEG)
    for i in range(n_lines):
        if i == 0:
            H = -np.minimum(_huber((frames * VAD_S - gaps[0]) / EDGE_SD), EDGE_CAP)
            prev_end[0] = -1
        else:
            H, prev_end[i] = _entry(F, cum, gaps[i], n)
            glued, glued_from = _glued(Fc, n)
            take = glued > H
            H[take], prev_end[i][take], after_cut[i][take] = glued[take], glued_from[take], True
        Hs.append(H.copy())
        planned = max(0.2, expected[i]) / VAD_S
        # line i over [e - L, e): spoken (speech reward) or silent (fixed cost)
        lengths = np.arange(max(2, int(MIN_RATIO * planned)), max(3, int(MAX_RATIO * planned)) + 1)
        cost = _huber(np.log(lengths / planned) / LENGTH_SD)
        spoken, base, s = _placements(H, cum, lengths, cost, frames)
        quiet = base - SILENT_LINE
        head = _muted(base, cum, cum_max, cum_min, lengths, s, reverse)
        both = np.maximum(np.maximum(spoken, quiet), head)
        k = np.argmax(both, axis=0)
        F = both[k, frames]
        start_of[i] = frames - lengths[k]
        silent[i] = quiet[k, frames] >= both[k, frames]
        muted[i] = ~silent[i] & (head[k, frames] > spoken[k, frames])
        if cut:  # or cut off by the next line
            cut_lengths = np.arange(max(2, int(CUT_RATIO[0] * planned)), max(3, int(CUT_RATIO[1] * planned)) + 1)
            cut_spoken, _, _ = _placements(H, cum, cut_lengths, np.full(len(cut_lengths), CUT), frames)
            k = np.argmax(cut_spoken, axis=0)
            Fc = cut_spoken[k, frames]
            cut_start[i] = frames - cut_lengths[k]
        if reverse and i > 0:  # or cut off by the line before it in reversed order (the next line of the script)
            Hg, _ = _glued(Fs[-1], n)
            cut_lengths = np.arange(max(2, int(CUT_RATIO[0] * planned)), max(3, int(CUT_RATIO[1] * planned)) + 1)
            cut_spoken, _, _ = _placements(Hg, cum, cut_lengths, np.full(len(cut_lengths), CUT), frames)
            F = np.maximum(F, cut_spoken.max(axis=0))
            Hgs.append(Hg)
        elif reverse:
            Hgs.append(np.full(n + 1, _NEG))
        Fs.append(F)
        Fcs.append(Fc)
    final = F - np.minimum(_huber(((n - frames) * VAD_S - tail) / EDGE_SD), EDGE_CAP)
    return {"F": Fs, "Fc": Fcs, "H": Hs, "Hg": Hgs, "final": final, "start_of": start_of, "silent": silent, "muted": muted, "prev_end": prev_end,
            "cut_start": cut_start, "after_cut": after_cut}


def _range_max(values: np.ndarray) -> np.ndarray:
    """Sparse table of `values` for range-maximum queries (`_query_max`)."""
    table = [values]
    k = 1
    while 2 * k <= len(values):
        prev = table[-1]
        table.append(np.maximum(prev[:-k], prev[k:]))
        k *= 2
    return table


def _query_max(table: list[np.ndarray], lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """max(values[lo..hi]) (inclusive) for arrays of bounds with lo <= hi."""
    level = np.floor(np.log2(np.maximum(hi - lo + 1, 1))).astype(np.int64)
    out = np.empty(lo.shape)
    for k in np.unique(level):
        sel = level == k
        row = table[k]
        out[sel] = np.maximum(row[lo[sel]], row[hi[sel] - (1 << k) + 1])
    return out


def _muted(base: np.ndarray, cum: np.ndarray, cum_max: list, cum_min: list, lengths: np.ndarray, starts: np.ndarray,
           reverse: bool) -> np.ndarray:
    """Scores of a line heard for a head of `MUTED_HEAD` of its length and silent after (rows: lengths, columns: ends);
    `reverse`: the reversed clip, where the heard part is the line's tail."""
    ends = np.arange(base.shape[1])[None, :]
    h0 = np.ceil(MUTED_HEAD[0] * lengths)[:, None].astype(np.int64)
    h1 = np.maximum(h0, np.floor(MUTED_HEAD[1] * lengths)[:, None].astype(np.int64))
    s = np.broadcast_to(starts, base.shape)
    e = np.broadcast_to(ends, base.shape)
    if not reverse:  # heard over [s, m), m in s + [h0, h1]
        lo, hi = np.minimum(s + h0, e), np.minimum(s + h1, e)
        heard = _query_max(cum_max, lo.ravel(), hi.ravel()).reshape(base.shape) - cum[s]
    else:  # heard over [m, e), m in e - [h1, h0]
        lo, hi = np.maximum(e - h1, s), np.maximum(e - h0, s)
        heard = cum[e] + _query_max(cum_min, lo.ravel(), hi.ravel()).reshape(base.shape)
    return base + heard - MUTED_LINE


def _glued(Fc: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Best score of a line starting at each frame straight after a cut-off line, and that line's end."""
    glued = np.full(n + 1, _NEG)
    glued_from = np.zeros(n + 1, np.int64)
    for k in range(int(CUT_GAP / VAD_S) + 1):
        cand = np.full(n + 1, _NEG)
        cand[k:] = Fc[: n + 1 - k]
        take = cand > glued
        glued[take], glued_from[take] = cand[take], (np.arange(n + 1) - k)[take]
    return glued, glued_from


def _tables(media: ClipMedia) -> dict:
    """The forward Viterbi tables of the clip (cached: the alignment and `turn_evidence` share them)."""

    def compute(m: ClipMedia) -> dict:
        p, expected, gaps, tail = _inputs(m)
        reward = EMISSION * (2.0 * p - 1.0)
        cum = np.concatenate([[0.0], np.cumsum(reward)])
        return dict(_forward(cum, expected, gaps, tail), p=p, reward=reward, cum=cum, expected=expected, gaps=gaps, tail=tail)

    return media.feature("line_alignment:forward", compute)


def _align(media: ClipMedia) -> list[LineSpan]:
    t = _tables(media)
    p, n_lines = t["p"], len(t["expected"])
    e = int(np.argmax(t["final"]))
    placed: list[tuple[int, int, bool, bool]] = [(0, 0, False, False)] * n_lines
    was_cut = False
    for i in range(n_lines - 1, -1, -1):
        s = int(t["cut_start"][i, e]) if was_cut else int(t["start_of"][i, e])
        placed[i] = (s, e, False if was_cut else bool(t["silent"][i, e]), False if was_cut else bool(t["muted"][i, e]))
        if i > 0:
            was_cut = bool(t["after_cut"][i, s])
            e = int(t["prev_end"][i, s])
    out, last_end = [], None
    for i, (a, b, quiet_line, muted) in enumerate(placed):
        slot = Span(round(a * VAD_S, 3), round(b * VAD_S, 3))
        if quiet_line:
            out.append(LineSpan(i, None, 0.0, None, slot))
            continue
        speech = float(p[a:b].mean()) if b > a else 0.0
        gap = None if last_end is None else round(slot.start - last_end, 3)
        out.append(LineSpan(i, slot, speech, gap, slot, muted))
        last_end = slot.end
    return out


def turn_evidence(media: ClipMedia) -> dict[int, dict[str, float]]:
    """Per line: the best alignment's score with the line `spoken` or `silent` in its slot, and (i > 0) with the turn into it of each kind.

    Max-marginals of the aligner's score (a forward pass and a backward pass, the backward one on
    the reversed clip and script): for each kind of turn — `normal` (the scripted pause), `long`
    (a longer silence), `none` (no pause or an overlap) and `cut` (the previous line cut off) —
    the best total score over every alignment whose turn into line i is of that kind. Differences
    are log-odds-like evidence for one kind over the others, from the whole clip's timing.
    """

    def compute(m: ClipMedia) -> dict[int, dict[str, float]]:
        fwd = _tables(m)
        p, expected, gaps, tail, reward, cum = (fwd[k] for k in ("p", "expected", "gaps", "tail", "reward", "cum"))
        n_lines, n = len(expected), len(p)
        rev_gaps = [tail] + [gaps[n_lines - j] for j in range(1, n_lines)]
        bwd = _forward(np.concatenate([[0.0], np.cumsum(reward[::-1])]), expected[::-1], rev_gaps, gaps[0], cut=False,
                       reverse=True)
        out: dict[int, dict[str, float]] = {}
        starts = np.arange(n + 1)
        cum_max, cum_min = _range_max(cum), _range_max(-cum)
        for i in range(n_lines):  # the line silent in its slot vs spoken, over every alignment
            H, after = fwd["H"][i], bwd["H"][n_lines - 1 - i][::-1]  # after[e]: lines i+1.. given line i ends at e
            planned = max(0.2, expected[i]) / VAD_S
            lengths = np.arange(max(2, int(MIN_RATIO * planned)), max(3, int(MAX_RATIO * planned)) + 1)
            spoken, base, s = _placements(H, cum, lengths, _huber(np.log(lengths / planned) / LENGTH_SD), starts)
            best_spoken = float(np.max(spoken + after[None, :]))
            head = _muted(base, cum, cum_max, cum_min, lengths, s, False)
            if i < n_lines - 1:  # or spoken and cut off by the next line
                cut_after = bwd["Hg"][n_lines - 1 - i][::-1]
                cut_lengths = np.arange(max(2, int(CUT_RATIO[0] * planned)), max(3, int(CUT_RATIO[1] * planned)) + 1)
                cut_spoken, _, _ = _placements(H, cum, cut_lengths, np.full(len(cut_lengths), CUT), starts)
                best_spoken = max(best_spoken, float(np.max(cut_spoken + cut_after[None, :])))
            out[i] = {"spoken": best_spoken, "silent": float(np.max(base + after[None, :])) - SILENT_LINE,
                      "muted": float(np.max(head + after[None, :]))}
        for i in range(1, n_lines):
            B = bwd["F"][n_lines - 1 - i][::-1]  # lines i.. with line i starting at s (reversed end n - s)
            F = fwd["F"][i - 1]
            lo = math.floor((gaps[i] + GAP_RANGE[0]) / VAD_S)
            hi = math.ceil((gaps[i] + GAP_RANGE[1]) / VAD_S)
            shifts = np.arange(-int(MAX_OVERLAP / VAD_S), hi + 1)
            g = shifts * VAD_S
            cost = np.where(shifts < lo, NO_GAP, np.minimum(_huber((g - gaps[i]) / GAP_SD), np.where(g > gaps[i], LONG_GAP, NO_GAP)))
            ends = starts[None, :] - shifts[:, None]
            ok = (ends >= 0) & (ends <= n)
            e = np.clip(ends, 0, n)
            shared = np.where(shifts[:, None] < 0, cum[e] - cum[starts[None, :]], 0.0)
            total = np.where(ok, F[e] - cost[:, None] - shared + B[None, :], _NEG)
            capped = cost >= np.where(g > gaps[i], LONG_GAP, NO_GAP)
            normal = total[(shifts >= lo) & ~capped].max(initial=_NEG)
            longer = total[(shifts >= lo) & capped & (g > gaps[i])].max(initial=_NEG)
            far = hi + 1
            if far <= n:
                longer = max(longer, float(np.max(np.maximum.accumulate(F)[: n + 1 - far] + B[far:])) - LONG_GAP)
            none = total[(shifts < lo) | (capped & (g <= gaps[i]))].max(initial=_NEG)
            glued, _ = _glued(fwd["Fc"][i - 1], n)
            cut = float(np.max(glued + B))
            out[i].update(normal=float(normal), long=float(longer), none=float(none), cut=cut)
        return out

    return media.feature("turn_evidence", compute)


def _placements(H: np.ndarray, cum: np.ndarray, lengths: np.ndarray, cost: np.ndarray, frames: np.ndarray):
    """Scores of a spoken line of each length ending at each frame (rows: lengths), the same without speech, and the starts."""
    starts = frames[None, :] - lengths[:, None]
    ok = starts >= 0
    s = np.where(ok, starts, 0)
    base = np.where(ok, H[s] - cost[:, None], _NEG)
    return base + (cum[None, :] - cum[s]), base, s


def _entry(F: np.ndarray, cum: np.ndarray, gap: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Best score of a line starting at each frame s, given the previous line's scores F by end frame, and the argmax end."""
    lo = math.floor((gap + GAP_RANGE[0]) / VAD_S)
    hi = math.ceil((gap + GAP_RANGE[1]) / VAD_S)
    k_min = -int(MAX_OVERLAP / VAD_S)
    shifts = np.arange(k_min, hi + 1)  # start = previous end + shift
    g = shifts * VAD_S
    cost = np.where(shifts < lo, NO_GAP, np.minimum(_huber((g - gap) / GAP_SD), np.where(g > gap, LONG_GAP, NO_GAP)))
    starts = np.arange(n + 1)
    ends = starts[None, :] - shifts[:, None]
    ok = (ends >= 0) & (ends <= n)
    e = np.clip(ends, 0, n)
    # an overlap's shared frames were counted in the previous line: take them out once
    shared = np.where(shifts[:, None] < 0, cum[e] - cum[np.clip(starts[None, :], 0, n)], 0.0)
    cand = np.where(ok, F[e] - cost[:, None] - shared, _NEG)
    k = np.argmax(cand, axis=0)
    H = cand[k, starts]
    arg = e[k, starts]
    # a long silence: any earlier end at a flat cost (running maximum)
    best_before = np.maximum.accumulate(F)
    where = np.maximum.accumulate(np.where(F >= best_before, starts, 0))
    far = hi + 1
    if far <= n:
        longer = np.full(n + 1, _NEG)
        longer[far:] = best_before[: n + 1 - far] - LONG_GAP
        src = np.zeros(n + 1, np.int64)
        src[far:] = where[: n + 1 - far]
        take = longer > H
        H[take], arg[take] = longer[take], src[take]
    return H, arg


def line_speech_fraction(media: ClipMedia, span: Span) -> float:
    """Share of a span's speech frames that are speech (p > 0.5)."""
    p = fused_speech_probs(media)
    a, b = int(span.start / VAD_S), max(int(span.start / VAD_S) + 1, math.ceil(span.end / VAD_S))
    return float((p[a:b] > 0.5).mean()) if b > a else 0.0
