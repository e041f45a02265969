"""Mouths against speech without a face detector: lip-sync lag and a second talking mouth."""

from __future__ import annotations

import numpy as np

from diagnosers.media import ClipMedia
from diagnosers.probes.align import align_lines
from diagnosers.probes.base import ModeScore, probe
from diagnosers.probes.features import HOP_S, cuts, frames_in, spectral_frames
from diagnosers.probes.picture import block_motion


@probe("lipsync", ("sf.lip_sync_offset",))
def lipsync(media: ClipMedia) -> list[ModeScore]:
    """Mouth motion against speech: the lag at which picture blocks that move with the voice match it best.

    The speech-band (300-3400 Hz) envelope's rate of change, averaged over each frame interval, is
    correlated with each block's motion at lags of ±0.6 s. Both series are high-passed (minus a
    0.4 s moving average) first: without that, slow body motion that starts before each line
    (turns, gestures) dominated and biased every clip to about −0.25 s (decision 054). The
    correlation-vs-lag curves of the 12 best blocks (mouths, found without a face detector) are
    averaged; the peak, refined by a parabola, is the lag (positive: the mouth moves after the
    sound); the score is |lag| in seconds times the peak's relative gain over lag 0.
    """
    from scipy.ndimage import uniform_filter1d

    n = len(media.frame_times)
    spec, freqs = spectral_frames(media)
    if n < 10 or spec.shape[0] < 10:
        return [ModeScore("sf.lip_sync_offset", None)]
    band = (freqs >= 300) & (freqs <= 3400)
    level = np.sqrt((spec[:, band].astype(np.float64) ** 2).sum(axis=1))
    centres = np.arange(len(level)) * HOP_S + 0.016  # a spectral frame spans 32 ms from its hop
    at = np.searchsorted(centres, media.frame_times)
    half = max(1, round(0.5 / media.fps / HOP_S))
    csum = np.concatenate([[0.0], np.cumsum(level)])
    lo, hi = np.clip(at - half, 0, len(level)), np.clip(at + half, 1, len(level))
    env = (csum[hi] - csum[lo]) / np.maximum(1, hi - lo)
    if env.max() <= 1e-6:
        return [ModeScore("sf.lip_sync_offset", None)]
    env = np.log1p(env / (np.median(env) + 1e-9))
    d_env = np.abs(np.diff(env, prepend=env[:1]))
    width = max(3, round(0.4 * media.fps) | 1)
    e = d_env - uniform_filter1d(d_env, width, mode="nearest")
    e = (e - e.mean()) / (e.std() + 1e-9)
    series = block_motion(media).reshape(n, -1).astype(np.float64)
    series = series - uniform_filter1d(series, width, axis=0, mode="nearest")
    series -= series.mean(axis=0)
    std = series.std(axis=0) + 1e-9
    max_lag = round(0.6 * media.fps)
    lags = np.arange(-max_lag, max_lag + 1)
    corr = np.zeros((len(lags), series.shape[1]))
    for i, lag in enumerate(lags):
        a, b = (e[: n - lag], series[lag:]) if lag >= 0 else (e[-lag:], series[: n + lag])
        corr[i] = (a[:, None] * b).mean(axis=0) / std
    top = np.argsort(corr.max(axis=0))[-12:]
    curve = corr[:, top].mean(axis=1)
    k = int(np.argmax(curve))
    sub = 0.0
    if 0 < k < len(lags) - 1:  # parabolic peak: the offsets are finer than one frame at 12.5 fps
        y0, y1, y2 = curve[k - 1: k + 2]
        den = y0 - 2 * y1 + y2
        sub = float(np.clip(0.5 * (y0 - y2) / den, -0.5, 0.5)) if den != 0 else 0.0
    lag_s = float(lags[k] + sub) / media.fps
    # how much better the peak fits than no offset: faults that decouple mouths from sound
    # (dropouts, a listener's lips) give flat curves whose peak wanders with little gain
    contrast = float((curve[k] - curve[max_lag]) / (abs(curve[k]) + 1e-6))
    score = abs(lag_s) * contrast
    return [ModeScore("sf.lip_sync_offset", score, windows=[(0.0, media.duration_s, score)],
                      detail={"lag_s": lag_s, "corr": float(curve[k]), "corr_at_zero": float(curve[max_lag]),
                              "contrast": contrast})]


def _line_frames(media: ClipMedia, span) -> np.ndarray:
    """Frames of a line's span inside its longest uncut stretch (cuts would light up every block)."""
    idx = frames_in(media, span)
    cut_idx = sorted(media.frame_index(c) for c in cuts(media))
    pieces, current = [], []
    for k in idx:
        if any(abs(k - c) <= 1 for c in cut_idx):
            if current:
                pieces.append(current)
            current = []
            continue
        current.append(k)
    if current:
        pieces.append(current)
    return np.asarray(max(pieces, key=len)) if pieces else idx


@probe("mouths", ("sf.non_speaker_lip_motion",))
def mouths(media: ClipMedia) -> list[ModeScore]:
    """Persistent local motion during each line, found without a face detector.

    For each line, the share of its frames in which each 8×8 block moves (global motion removed);
    the most persistently moving block is the speaker's mouth; the score is the persistence of the
    strongest block outside its neighbourhood (a second talking mouth) over the first's.
    """
    motion_blocks = block_motion(media)
    spans = {ls.index: ls.span for ls in align_lines(media) if ls.span is not None}
    scores, windows = {}, []
    radius = 3
    for i, span in spans.items():
        idx = _line_frames(media, span)
        if len(idx) < 4:
            continue
        active = (motion_blocks[idx] > 1.5).mean(axis=0)
        y, x = np.unravel_index(int(np.argmax(active)), active.shape)
        first = float(active[y, x])
        rest = active.copy()
        rest[max(0, y - radius): y + radius + 1, max(0, x - radius): x + radius + 1] = 0.0
        second = float(rest.max())
        scores[i] = second / (first + 0.05)
        windows.append((span.start, span.end, scores[i]))
    return [ModeScore("sf.non_speaker_lip_motion", max(scores.values()) if scores else None, scores, windows)]
