"""Picture probes: frozen picture, motion for scripted actions (`actions`); block motion shared with lip sync."""

from __future__ import annotations

import numpy as np

from diagnosers.media import ClipMedia
from diagnosers.probes.actions import action_scores
from diagnosers.probes.base import ModeScore, probe
from diagnosers.probes.features import cuts, gray

FROZEN_BLOCK_DIFF = 2.5  # max over 8x8 blocks of mean |Δluma| under which two sampled frames show the same picture
# (codec refreshes of a held picture reach ~1.9; a moving mouth 5 and more)


@probe("motion", ("sf.frozen_video", "mp.action_missing"))
def motion(media: ClipMedia) -> list[ModeScore]:
    """Frame-difference energy over time.

    - frozen video: the longest run (seconds) of sampled frames in which not one 8×8 block
      changes (max block |Δluma| < 2.5). Characters always move a little (mouths, blinks,
      expressions, a camera move), so an exactly repeated picture for a second or more is a
      freeze whatever the sound does (decision 095). Windows: every still run of ≥ 0.4 s, scored by
      its length;
    - action missing: see `actions.action_scores` (decision 161).
    """
    t = media.frame_times
    frozen_score, windows = 0.0, []
    for a, b in still_runs(media):
        seconds = (b - a) / media.fps
        frozen_score = max(frozen_score, seconds)
        if seconds >= FROZEN_WINDOW_S:
            windows.append((float(t[a]), float(t[b - 1]) + 1.0 / media.fps, seconds))
    frozen = ModeScore("sf.frozen_video", frozen_score, windows=sorted(windows, key=lambda w: -w[2]),
                       detail={"still_runs": len(windows)})
    return [frozen, action_scores(media)]


FROZEN_WINDOW_S = 0.4  # still runs reported as windows (clean clips: none longer than 0.72 s)


def still_runs(media: ClipMedia) -> list[tuple[int, int]]:
    """[start, end) frame ranges in which no 8×8 block changes from one sampled frame to the next."""

    def compute(m: ClipMedia) -> list[tuple[int, int]]:
        blocks = block_diff(m)
        still = blocks.reshape(len(blocks), -1).max(axis=1) < FROZEN_BLOCK_DIFF
        if len(still):
            still[0] = False
        return _runs(still)

    return media.feature("motion:still_runs", compute)


def frozen_frames(media: ClipMedia) -> np.ndarray:
    """Per sampled frame: whether it lies in a still run (`still_runs`), a frozen picture to leave unread."""
    frozen = np.zeros(len(media.frame_times), bool)
    for a, b in still_runs(media):
        frozen[a:b] = True
    return frozen


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index ranges where `mask` is true."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.nonzero(edges == 1)[0].tolist(), np.nonzero(edges == -1)[0].tolist(), strict=True))


def block_diff(media: ClipMedia, block: int = 8) -> np.ndarray:
    """(N, By, Bx) mean |Δluma| per 8×8 block to the previous sampled frame."""

    def compute(m: ClipMedia) -> np.ndarray:
        import cv2

        g = gray(m)
        n, h, w = g.shape
        d = np.empty((n, h // block, w // block), np.float32)
        d[0] = 0.0
        for k in range(1, n):  # per frame: absdiff and an 8x8 area mean, both in OpenCV
            diff = cv2.absdiff(g[k], g[k - 1])[: h // block * block, : w // block * block]
            d[k] = cv2.resize(diff.astype(np.float32), (w // block, h // block), interpolation=cv2.INTER_AREA)
        return d

    return media.feature("block_diff", compute)


def block_motion(media: ClipMedia) -> np.ndarray:
    """Block differences with global motion (the median block) removed and cut frames zeroed."""

    def compute(m: ClipMedia) -> np.ndarray:
        d = block_diff(m).copy()
        d -= np.median(d, axis=(1, 2), keepdims=True)
        for c in cuts(m):
            k = m.frame_index(c)
            d[max(0, k - 1): k + 2] = 0.0
        return d

    return media.feature("block_motion", compute)


def _colour_bins(frame: np.ndarray) -> np.ndarray:
    import cv2

    h = frame.shape[0]
    hsv = cv2.cvtColor(np.ascontiguousarray(frame[h // 3:]), cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0, 1, 2], None, [18, 4, 4], [0, 180, 0, 256, 0, 256]).reshape(-1)
    return hist / (hist.sum() + 1e-9)
