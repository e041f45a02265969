"""Focus control: a picture that goes soft inside a shot and comes back (focus hunting, decision 221).

Within one shot a lens keeps its focus unless the script pulls it: what is sharp stays sharp while
the actors talk, gesture and the camera moves. A focus that hunts takes the fine detail away for a
moment (edges widen, the second derivative of the picture collapses) and then brings it back.
"""

from __future__ import annotations

import cv2
import numpy as np

from diagnosers.media import ClipMedia
from diagnosers.probes.base import ModeScore, probe
from diagnosers.probes.features import gray, moving_frames, shot_spans

MODE = "ic.focus_control_failure"
MIN_FRAMES = 6  # frames a shot needs to be read
SMOOTH = 3  # frames the sharpness is averaged over (a hunt lasts ~1 s: 12 frames at 12.5 fps)
REFERENCE_PERCENTILE = 90.0  # the shot's own sharp level: most of a short shot may be soft


def sharpness(luma: np.ndarray) -> np.ndarray:
    """Per frame: mean |Laplacian| over mean |gradient| (Sobel, |x| + |y|) of the uint8 luma — the fine
    detail per edge, so a darker grade or a flatter set (less contrast, fewer edges) does not read as soft."""
    out = np.full(len(luma), np.nan)
    for k, frame in enumerate(luma):
        grad = (cv2.norm(cv2.Sobel(frame, cv2.CV_16S, 1, 0, ksize=3), cv2.NORM_L1)
                + cv2.norm(cv2.Sobel(frame, cv2.CV_16S, 0, 1, ksize=3), cv2.NORM_L1))
        if grad > 0:
            out[k] = cv2.norm(cv2.Laplacian(frame, cv2.CV_16S, ksize=1), cv2.NORM_L1) / grad
    return out


def softening(series: np.ndarray) -> float | None:
    """The depth of the deepest dip of a shot's sharpness series: 1 − smoothed minimum over the shot's own
    sharp level (its 90th percentile); None when too little is read."""
    ok = ~np.isnan(series)
    if ok.sum() < MIN_FRAMES:
        return None
    x = np.where(ok, series, np.nanmedian(series))
    smooth = np.convolve(x, np.ones(SMOOTH) / SMOOTH, mode="valid")
    ref = float(np.percentile(x, REFERENCE_PERCENTILE))
    if ref <= 0:
        return None
    return max(0.0, 1.0 - float(smooth.min()) / ref)


@probe("focus", (MODE,))
def focus(media: ClipMedia) -> list[ModeScore]:
    """Focus hunting: per detected shot, the sharpness of every sampled frame (`sharpness`: mean |Laplacian|
    over mean |gradient| of the luma, frozen frames and 0.15 s at the cuts left out) and its deepest dip
    below the shot's own sharp level (`softening`: 0 = as sharp as the shot gets, 0.5 = half its fine
    detail gone). Score: the deepest dip in the clip; windows: each shot read, scored by its dip.
    """
    if not len(media.frames):
        return [ModeScore(MODE, None)]
    luma = gray(media)
    windows: list[tuple[float, float, float]] = []
    for span in shot_spans(media):
        frames = moving_frames(media, span)  # clear of the cuts, frozen frames left out
        depth = softening(sharpness(luma[frames])) if len(frames) >= MIN_FRAMES else None
        if depth is not None:
            windows.append((span.start, span.end, depth))
    if not windows:
        return [ModeScore(MODE, None)]
    return [ModeScore(MODE, max(w[2] for w in windows), windows=windows, detail={"shots_read": len(windows)})]
