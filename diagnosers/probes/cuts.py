"""Cut grammar probes: jump cuts (30-degree rule) and shot progression against the script."""

from __future__ import annotations

import numpy as np

from diagnosers.media import ClipMedia
from diagnosers.probes.base import ModeScore, probe
from diagnosers.probes.features import gray, shot_spans


@probe("cuts", ("ig.30_degree_rule_violation", "ig.shot_progression_issues"))
def cut_grammar(media: ClipMedia) -> list[ModeScore]:
    """Cuts and jump cuts.

    - 30-degree rule: at every picture-change spike (cuts included), how much of the change a
      zoom (1.05-1.2×, either way) plus a shift explains: 1 − residual after the best such warp
      over the raw difference. A jump cut between near-identical framings is almost fully
      explained (> 0.7); a cut to another set-up is not (decision 055). The clip score is the
      largest such gain.
    - shot progression: |number of detected shots − number of scripted shots|.
    """
    scene = media.scene
    jump, windows = 0.0, []
    for i, gain in picture_jumps(media):
        t = float(media.frame_times[i])
        jump = max(jump, gain)
        windows.append((t - 0.5, t + 0.5, gain))
    progression = abs(len(shot_spans(media)) - len(scene.shots))
    return [
        ModeScore("ig.30_degree_rule_violation", jump, windows=windows),
        ModeScore("ig.shot_progression_issues", float(progression), detail={"detected_shots": len(shot_spans(media))}),
    ]


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


def picture_jumps(media: ClipMedia) -> list[tuple[int, float]]:
    """(frame index, warp gain) at every frame whose picture change is a spike over its neighbours."""

    def compute(m: ClipMedia) -> list[tuple[int, float]]:
        g = gray(m)
        if len(g) < 3:
            return []
        raw = np.concatenate([[0.0], np.abs(np.diff(g.astype(np.float32), axis=0)).mean(axis=(1, 2))])
        out = []
        for i in range(1, len(raw)):
            lo = max(1, i - 3)
            neighbours = np.delete(raw[lo: i + 4], i - lo)
            noise = float(np.median(neighbours)) if len(neighbours) else 0.0
            if raw[i] > 3.0 and raw[i] > 2.5 * noise + 1.0:
                # the neighbours' ordinary motion (mouths, gestures) is change no warp can explain
                r, best = _warp_residual(g[i - 1], g[i])
                out.append((i, 1.0 - max(0.0, best - noise) / max(r - noise, 1e-6)))
        return out

    return media.feature("picture_jumps", compute)
