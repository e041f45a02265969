"""Cut grammar: jump cuts (30-degree rule). Shot sizes against the script are read by `framing`."""

from __future__ import annotations

import numpy as np

from diagnosers.media import ClipMedia
from diagnosers.probes.base import ModeScore, probe
from diagnosers.probes.features import gray, neighbour_medians


@probe("cuts", ("ig.30_degree_rule_violation",))
def cut_grammar(media: ClipMedia) -> list[ModeScore]:
    """Jump cuts (30-degree rule): at every picture-change spike (cuts included), how much of the change a
    zoom (1.05-1.2×, either way) plus a shift explains: 1 − residual after the best such warp over the raw
    difference (decision 055), times 1 − (luminance-histogram change across the spike) / 0.4: a jump cut
    between near-identical framings is almost fully explained and keeps the picture's tones (histogram
    change 0.04–0.10), while a cut to another set-up that a warp happens to explain (a wide pan cut to a
    plain backdrop) changes them (0.2–0.56; decision 096). The clip score is the largest such value.
    """
    jump, windows = 0.0, []
    for i, gain, tones in picture_jumps(media):
        t = float(media.frame_times[i])
        score = gain * max(0.0, 1.0 - tones / TONE_CHANGE)
        jump = max(jump, score)
        windows.append((t - 0.5, t + 0.5, score))
    return [ModeScore("ig.30_degree_rule_violation", jump, windows=windows)]


TONE_CHANGE = 0.4  # luminance-histogram change (L1/2) at which a cut stops counting as a jump cut
# (seeds 0-2 of procedural:sparse: jump cuts 0.04-0.10, scripted cuts that a warp explains 0.2-0.56)


def _tone_change(before: np.ndarray, after: np.ndarray) -> float:
    """Half the L1 distance between two frames' 32-bin luminance histograms (0 = same tones, 1 = disjoint)."""
    import cv2

    h = [cv2.calcHist([np.ascontiguousarray(f)], [0], None, [32], [0, 256]).reshape(-1) for f in (before, after)]
    return float(0.5 * np.abs(h[0] / max(h[0].sum(), 1.0) - h[1] / max(h[1].sum(), 1.0)).sum())


def _warp_residual(before: np.ndarray, after: np.ndarray) -> tuple[float, float]:
    """Mean |difference| of two frames, raw and after the best zoom about the centre plus shift."""
    import cv2

    a, b = before.astype(np.float32), after.astype(np.float32)
    h, w = a.shape
    margin = max(2, h // 15)  # borders are filled by the warp, not seen
    raw = float(np.abs(a - b)[margin:-margin, margin:-margin].mean())
    best = raw
    for zoom in (1.05, 1.1, 1.15, 1.2):
        for src, dst in ((a, b), (b, a)):  # zoomed in or out across the cut
            m = np.float32([[zoom, 0, (1 - zoom) * w / 2], [0, zoom, (1 - zoom) * h / 2]])
            zoomed = cv2.warpAffine(src, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
            (dx, dy), _ = cv2.phaseCorrelate(zoomed, dst)
            shifted = cv2.warpAffine(zoomed, np.float32([[1, 0, dx], [0, 1, dy]]), (w, h), borderMode=cv2.BORDER_REPLICATE)
            best = min(best, float(np.abs(shifted - dst)[margin:-margin, margin:-margin].mean()))
    return raw, best


def picture_jumps(media: ClipMedia) -> list[tuple[int, float, float]]:
    """(frame index, warp gain, tone change) at every frame whose picture change is a spike over its neighbours
    (gain 0 where the tones change by `TONE_CHANGE` or more: such a spike scores 0 anyway)."""

    def compute(m: ClipMedia) -> list[tuple[int, float, float]]:
        import cv2

        from diagnosers.probes.picture import block_diff

        g = gray(m)
        if len(g) < 3:
            return []
        raw = block_diff(m).mean(axis=(1, 2))  # mean |Δluma| per frame, from the block differences motion shares
        n, h, w = g.shape
        half: dict[int, np.ndarray] = {}

        def small(k: int) -> np.ndarray:  # the warp search runs at half size: 4× cheaper, same gains
            if k not in half:
                half[k] = cv2.resize(g[k], (w // 2, h // 2), interpolation=cv2.INTER_AREA).astype(np.float32)
            return half[k]

        ordinary = neighbour_medians(raw)
        out = []
        for i in range(1, n):
            lo, hi = max(1, i - 3), min(n, i + 4)
            if raw[i] > 3.0 and raw[i] > 2.5 * ordinary[i] + 1.0:
                tones = _tone_change(g[i - 1], g[i])
                if tones >= TONE_CHANGE:  # scores 0 whatever a warp explains: skip the search (the costly part)
                    out.append((i, 0.0, tones))
                    continue
                # the neighbours' ordinary motion (mouths, gestures) is change no warp can explain
                others = [k for k in range(lo, hi) if k != i]
                noise = float(np.median([np.abs(small(k) - small(k - 1)).mean() for k in others])) if others else 0.0
                r, best = _warp_residual(small(i - 1), small(i))
                out.append((i, 1.0 - max(0.0, best - noise) / max(r - noise, 1e-6), tones))
        return out

    return media.feature("cuts:picture_jumps", compute)
