"""Mouths against speech without a face detector: the lip-sync lag (a listener's moving lips: `listeners`)."""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from diagnosers.media import ClipMedia
from diagnosers.probes.align import align_lines
from diagnosers.probes.base import ModeScore, probe
from diagnosers.probes.features import (
    HOP_S,
    cuts,
    gray,
    spectral_frames,
)
from scenes.vocabulary import Delivery

MAX_LAG_S = 0.64  # lags searched (8 frames at 12.5 fps); the peak must be inside, not at the edge
MIN_SEGMENT_S = 1.9  # uncut stretches shorter than this give too few frames for a correlation
TOP_BLOCKS = 24  # grid points per window whose luma follows the voice best (mouths; decision 105: 24 on the 2×2 grid)
CANDIDATES = 3600  # most-varying grid points per window that are correlated (a quarter of 160×90; decision 105)
GRID = 2  # pixels per side of the blocks the mouth grid averages (decision 105: 4×4 blocks scored worse)
NOTICEABLE_S = 0.1  # offsets under ~0.1 s are not seen by viewers (ITU-R BT.1359: +45 / -125 ms)
CLEAR_SPEECH = 0.7  # a line's mean fused speech probability above which its voice is clearly heard (decision 105)


def _speech_envelope(media: ClipMedia) -> np.ndarray:
    """Speech-band (300-3400 Hz) level averaged over each sampled frame's interval, log relative to the median."""
    spec, freqs = spectral_frames(media)
    band = (freqs >= 300) & (freqs <= 3400)
    level = np.sqrt((spec[:, band].astype(np.float64) ** 2).sum(axis=1))
    centres = np.arange(len(level)) * HOP_S + 0.016  # a spectral frame spans 32 ms from its hop
    at = np.searchsorted(centres, media.frame_times)
    half = max(1, round(0.5 / media.fps / HOP_S))
    csum = np.concatenate([[0.0], np.cumsum(level)])
    lo, hi = np.clip(at - half, 0, len(level)), np.clip(at + half, 1, len(level))
    env = (csum[hi] - csum[lo]) / np.maximum(1, hi - lo)
    return np.log1p(env / (np.median(env) + 1e-9))


def _uncut_stretches(media: ClipMedia, n: int, min_frames: int) -> list[tuple[int, int]]:
    """Frame ranges between detected cuts, 2 frames clear of each cut."""
    edges = [0] + [media.frame_index(c) for c in cuts(media)] + [n]
    out = []
    for a, b in pairwise(edges):
        a, b = a + 2, b - 2
        if b - a >= min_frames:
            out.append((a, b))
    return out


def _line_windows(media: ClipMedia, n: int, max_lag: int) -> list[tuple[int, int]]:
    """Frame ranges of the clearly heard, on-screen-voiced lines (decision 105): each aligned line span
    whose mean fused speech probability is >= CLEAR_SPEECH (voice-over lines skipped: no mouth moves),
    widened by the searched lag on both sides, cut at detected cuts (2 frames clear); the longest
    piece, if it still covers every lag."""
    scene_lines = media.scene.lines if media.scene is not None else []
    cut_idx = sorted(media.frame_index(c) for c in cuts(media))
    out = []
    for ls in align_lines(media):
        if ls.span is None or ls.speech < CLEAR_SPEECH:
            continue
        if ls.index < len(scene_lines) and scene_lines[ls.index].delivery is Delivery.voice_over:
            continue
        a = max(0, round(ls.span.start * media.fps) - max_lag)
        b = min(n, round(ls.span.end * media.fps) + max_lag)
        pieces, cur = [], a
        for c in cut_idx:
            if c - 2 >= b:
                break
            if cur < c - 2:
                pieces.append((cur, c - 2))
            cur = max(cur, c + 2)
        if b > cur:
            pieces.append((cur, b))
        pieces = [p for p in pieces if p[1] - p[0] >= 2 * max_lag + 6]
        if pieces:
            out.append(max(pieces, key=lambda p: p[1] - p[0]))
    return out


def _lag_curve(e: np.ndarray, x: np.ndarray, max_lag: int, top: int) -> np.ndarray:
    """Mean signed correlation vs lag (mouth frame k against sound frame k - lag) of the `top` blocks
    whose luma follows the envelope best at some lag; each block's sign is taken at its own peak."""
    from scipy.ndimage import uniform_filter1d

    n = len(e)
    e = e - uniform_filter1d(e, 5, mode="nearest")  # high-pass (minus a 0.4 s mean): syllables, not phrases
    x = x - uniform_filter1d(x, 5, axis=0, mode="nearest")
    # a lag's window drops at most `max_lag` frames at either end: its block sums are the totals
    # minus running sums over the first and last `max_lag` frames (no per-lag copies of x)
    def edge_sums(v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        zero = np.zeros((1, v.shape[1]))
        head = np.concatenate([zero, np.cumsum(v[:max_lag], axis=0)])  # head[j] = sum of the first j frames
        tail = np.concatenate([zero, np.cumsum(v[::-1][:max_lag], axis=0)])  # tail[j] = sum of the last j frames
        return v.sum(axis=0), head, tail

    t1, h1, r1 = edge_sums(x)
    t2, h2, r2 = edge_sums(x * x)
    lags = np.arange(-max_lag, max_lag + 1)
    corr = np.zeros((len(lags), x.shape[1]))
    for i, lag in enumerate(lags):
        (s0, s1), (x0, x1) = ((0, n - lag), (lag, n)) if lag >= 0 else ((-lag, n), (0, n + lag))
        a = e[s0:s1] - e[s0:s1].mean()
        s_1 = t1 - h1[x0] - r1[n - x1]
        s_2 = t2 - h2[x0] - r2[n - x1]
        var = s_2 - s_1 ** 2 / (x1 - x0)
        corr[i] = (a @ x[x0:x1]) / (np.sqrt((a * a).sum() * np.maximum(var, 0.0)) + 1e-9)
    peak = np.abs(corr).max(axis=0)
    best = np.argpartition(peak, -top)[-top:] if len(peak) > top else np.arange(len(peak))
    sign = np.sign(corr[np.abs(corr[:, best]).argmax(axis=0), best])
    return (corr[:, best] * sign).mean(axis=1)


@probe("lipsync", ("sf.lip_sync_offset",))
def lipsync(media: ClipMedia) -> list[ModeScore]:
    """Mouths against speech: the lag at which the picture's mouths follow the voice best (decisions 097, 105).

    Each point of a 160×90 luma grid (2×2-pixel block means of the decode: an opening mouth darkens
    its block) is correlated with the speech-band envelope at lags of ±0.64 s, both high-passed
    (minus a 0.4 s mean) so that syllables, not slow body motion, count, inside each window; the 24
    points that follow the voice best (the mouths in that framing, found without a face detector) are
    averaged, sign-aligned, and windows are pooled by length. The peak (refined by a parabola, inside
    the searched range) is the lag (positive: the mouth moves after the sound); a reading is the
    peak's correlation gain over lag 0, counted when the lag is noticeable (≥ 0.1 s, ramping in below).
    Two readings: over the uncut stretches (≥ 1.9 s between detected cuts; else the longest one), and
    over the clearly heard lines (aligned span with mean fused speech probability ≥ 0.7, not voice-over,
    widened by the lag range, inside one uncut stretch). The score is the weaker of the two: an offset
    shows in both, while a wandering peak from crowd-like beds or drowned speech rarely lifts both.
    A clean clip peaks at lag 0 (score 0); muted or drowned speech and frozen pictures flatten the curve.
    """
    n = len(media.frame_times)
    spec, _ = spectral_frames(media)
    if n < 10 or spec.shape[0] < 10:
        return [ModeScore("sf.lip_sync_offset", None)]
    e = _speech_envelope(media)
    max_lag = max(2, round(MAX_LAG_S * media.fps))
    stretches = _uncut_stretches(media, n, max(3 * max_lag, round(MIN_SEGMENT_S * media.fps)))
    if not stretches:  # many cuts (or spurious ones): the longest stretch that still covers every lag
        shorter = _uncut_stretches(media, n, 2 * max_lag + 4)
        stretches = [max(shorter, key=lambda s: s[1] - s[0])] if shorter else []
    if not stretches or float(np.ptp(e)) <= 1e-6:
        return [ModeScore("sf.lip_sync_offset", None)]
    luma = _mouth_grid(media).reshape(n, -1)
    whole = _lag_reading(e, luma, stretches, max_lag, media.fps)
    lines = _line_windows(media, n, max_lag) if media.scene is not None else []
    heard = _lag_reading(e, luma, lines, max_lag, media.fps) if lines else whole
    score = min(whole[0], heard[0])
    return [ModeScore("sf.lip_sync_offset", score, windows=[(0.0, media.duration_s, score)],
                      detail={"lag_s": heard[1], "lag_s_stretches": whole[1], "score_stretches": whole[0],
                              "score_lines": heard[0], "stretches": len(stretches), "lines": len(lines)})]


def _mouth_grid(media: ClipMedia) -> np.ndarray:
    """Luma averaged over 2×2 pixel blocks of the decode size (160×90 at 320×180), uint8 (decision 105):
    a mouth is a few pixels wide in a wide shot, so point samples (`gray_small`) can miss it. Each window
    read is turned to float64 on its own: the whole clip's float64 grid is ~35 MB of fresh memory
    (~0.17 s of page faults on this virtual machine, decision 223), the values the same."""
    import cv2

    def compute(m: ClipMedia) -> np.ndarray:
        g = gray(m)
        if not len(g):
            return np.zeros((0, 1, 1), np.uint8)
        size = (max(1, g.shape[2] // GRID), max(1, g.shape[1] // GRID))
        return np.stack([cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in g])

    return media.feature("sync:mouth_grid", compute)


def _moving_points(x: np.ndarray) -> np.ndarray:
    """The CANDIDATES grid points whose luma varies most at syllable rate (high-passed energy) in the
    window: a talking mouth is among them; static backdrop is not worth correlating (decision 105)."""
    from scipy.ndimage import uniform_filter1d

    if x.shape[1] <= CANDIDATES:
        return x
    hp = x - uniform_filter1d(x, 5, axis=0, mode="nearest")
    keep = np.argpartition((hp * hp).sum(axis=0), -CANDIDATES)[-CANDIDATES:]
    return x[:, keep]


def _lag_reading(e: np.ndarray, luma: np.ndarray, windows: list[tuple[int, int]], max_lag: int,
                 fps: float) -> tuple[float, float]:
    """(score, lag in s) of the windows' length-weighted mean lag curve: the interior peak (refined by a
    parabola), its gain over lag 0, counted when the lag is noticeable (>= 0.1 s, ramping in below)."""
    weights = np.array([b - a for a, b in windows], float)
    curves = np.array([_lag_curve(e[a:b], _moving_points(luma[a:b].astype(np.float64)), max_lag, TOP_BLOCKS)
                       for a, b in windows])
    curve = (curves * weights[:, None]).sum(axis=0) / weights.sum()
    k = 1 + int(np.argmax(curve[1:-1]))  # a maximum at the edge of the range is no peak
    y0, y1, y2 = curve[k - 1: k + 2]
    den = y0 - 2 * y1 + y2
    sub = float(np.clip(0.5 * (y0 - y2) / den, -0.5, 0.5)) if den != 0 else 0.0
    lag_s = float(k - max_lag + sub) / fps
    gain = float(curve[k] - curve[max_lag])
    return gain * min(1.0, abs(lag_s) / NOTICEABLE_S), lag_s
