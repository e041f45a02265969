"""Robotic movement: a figure that holds dead still where a living body keeps moving (decision 217).

A standing or sitting person is never perfectly still: breathing and balance move the head and
shoulders by a few pixels over a few seconds. A body animated like a machine stops dead between
moves. The probe follows each steady face's head-and-shoulders patch from frame to frame and reads
how much it moves up and down, with the camera's own movement taken out.
"""

from __future__ import annotations

import cv2
import numpy as np

from diagnosers.media import ClipMedia
from diagnosers.probes.base import ModeScore, probe
from diagnosers.probes.face_finder import Face
from diagnosers.probes.face_tracking import face_at, face_tracks
from diagnosers.probes.features import moving_frames, shot_spans
from diagnosers.probes.listeners import shot_faces

MODE = "mp.robotic_movement"
# The patch: pupil separations (dx) either side of the eyes' mid-point, above and below it (head, neck, shoulders).
HALF_WIDTH, ABOVE, BELOW = 1.5, 1.0, 2.5
# Vertical search between consecutive frames: a breath moves the head < 1 px per frame at 12.5 fps, an
# eased camera move a few pixels at most.
SEARCH_PX = 6
# Patches taller than this (luma pixels) are read on every n-th pixel each way: the search's cost grows
# with the patch's area, and a large patch still gives the sway to a tenth of a pixel.
MAX_PATCH = 80
# Frames further than this from one of the face's tracker samples (0.32 s apart) are not read: where the
# tracker lost the face, a patch held at its last place shows the set, which does not breathe (decision 217:
# 0.5 / 0.7 / 1.0 s scored fitting balanced accuracy 0.720 / 0.738 / 0.747).
NEAR_S = 1.0
# The movement is read as the standard deviation of the patch's height over windows of this many frames
# (1.6 s at 12.5 fps: half a breath), half-overlapping; the median window is the figure's sway in the shot.
WINDOW = 20
MIN_FRAMES = 10
# The camera holds still when the background (columns clear of every face, CLEAR_DX pupil separations
# either side) changes by less than this (mean |luma difference|, first frame against last); otherwise its
# eased move (a push, pull, pan or tilt follows a smoothstep in time) is fitted and taken out.
STILL_CAMERA = 1.0
CLEAR_DX = 2.5
# Under a moving camera only shots this long are read: over a shorter one, a breath (a 3-s cycle) can
# itself look like an eased move and be fitted away.
MIN_MOVING_S = 2.5
# ... and only where the face was read on this share of the shot's frames (the eased fit needs the whole move).
MOVING_READ = 0.7
# A pan: the picture's content moved at least PAN_ACROSS half-size pixels across and at most PAN_UP up or down
# (phase correlation of the shot's first and last frames).
PAN_ACROSS, PAN_UP = 3.0, 0.75


def _subpixel(res: np.ndarray, py: int, px: int) -> float:
    if 0 < py < res.shape[0] - 1:
        a, b, c = float(res[py - 1, px]), float(res[py, px]), float(res[py + 1, px])
        den = a - 2 * b + c
        if den > 0:
            return 0.5 * (a - c) / den
    return 0.0


def height_steps(luma: np.ndarray, frames: list[int], faces: list[Face], times: np.ndarray, scale: float) -> np.ndarray:
    """The patch's vertical move between consecutive frames (luma pixels; NaN where it leaves the picture).

    The patch is cut where the face tracker places the face in the earlier frame and searched for in
    the later one, shifted across as the tracker says and up or down within `SEARCH_PX`."""
    h, w = luma.shape[1:]
    d = float(np.median([f.dx for f in faces])) * scale
    n = max(1, int(round((ABOVE + BELOW) * d / MAX_PATCH)))
    r = -(-SEARCH_PX // n) * n  # a whole number of strides
    placed = [face_at(faces, float(times[k])) for k in frames]  # each frame's place, once
    out = [0.0]
    for j, (a, b) in enumerate(zip(frames[:-1], frames[1:])):
        (xa, ya, _, near), xb = placed[j], placed[j + 1][0]
        if abs(near.t - float(times[a])) > NEAR_S:  # the tracker lost the face here: the patch may be set
            out.append(np.nan)
            continue
        xa, ya, sx = xa * scale, ya * scale, int(round((xb - xa) * scale))
        x0, x1 = int(round(xa - HALF_WIDTH * d)), int(round(xa + HALF_WIDTH * d))
        y0, y1 = max(r, int(round(ya - ABOVE * d))), min(h - r, int(round(ya + BELOW * d)))
        if x0 < 0 or x1 > w or x0 + sx - n < 0 or x1 + sx + n > w or y1 - y0 < 8 or x1 - x0 < 8:
            out.append(np.nan)
            continue
        # across, only a stride either side of where the tracker says: the height is what is read
        window = luma[b, y0 - r:y1 + r:n, x0 + sx - n:x1 + sx + n:n].astype(np.float32)
        patch = luma[a, y0:y1:n, x0:x1:n].astype(np.float32)
        res = cv2.matchTemplate(window, patch, cv2.TM_SQDIFF)
        py, px = np.unravel_index(int(np.argmin(res)), res.shape)
        if py in (0, res.shape[0] - 1):  # at the search's edge: a jump (an undetected cut, a stepped action), not a sway
            out.append(np.nan)
            continue
        out.append((py - r // n + _subpixel(res, int(py), int(px))) * n)
    return np.asarray(out, dtype=np.float64)


def camera_change(luma: np.ndarray, frames: list[int], shot: list[list[Face]], scale: float) -> float:
    """Mean |luma change| from the shot's first to its last frame over the columns clear of every face
    (the picture's corners when faces fill it)."""
    w = luma.shape[2]
    clear = np.ones(w, bool)
    for faces in shot:
        for f in faces:
            clear[max(0, int((f.x - CLEAR_DX * f.dx) * scale)): max(0, int((f.x + CLEAR_DX * f.dx) * scale) + 1)] = False
    first, last = luma[frames[0]].astype(np.int16), luma[frames[-1]].astype(np.int16)
    if clear.sum() >= 0.1 * w:
        return float(np.abs(last[:, clear] - first[:, clear]).mean())
    # faces fill the picture (close-ups): its four corners, an eighth of it each way
    h, w = first.shape
    corners = [(slice(0, h // 8), slice(0, w // 8)), (slice(0, h // 8), slice(w - w // 8, w)),
               (slice(h - h // 8, h), slice(0, w // 8)), (slice(h - h // 8, h), slice(w - w // 8, w))]
    return float(np.median([np.abs(last[c] - first[c]).mean() for c in corners]))


def _panning(luma: np.ndarray, frames: list[int]) -> bool:
    """Whether the picture moved only across from the shot's first frame to its last (a pan: heights are
    untouched, so nothing needs fitting away)."""
    a, b = (cv2.resize(luma[k], (luma.shape[2] // 2, luma.shape[1] // 2), interpolation=cv2.INTER_AREA).astype(np.float32)
            for k in (frames[0], frames[-1]))
    (dx, dy), response = cv2.phaseCorrelate(a, b, cv2.createHanningWindow(a.shape[::-1], cv2.CV_32F))
    return abs(dx) >= PAN_ACROSS and abs(dy) <= PAN_UP and response > 0.1


def _windows(y: np.ndarray) -> list[float]:
    """Standard deviations of y over half-overlapping windows of WINDOW frames (one window when shorter)."""
    return [float(np.std(y[j:j + WINDOW])) for j in range(0, max(1, len(y) - WINDOW + 1), WINDOW // 2)]


def sway(steps: np.ndarray, times: np.ndarray, start: float, end: float, still_camera: bool) -> float | None:
    """The median over half-breath windows of the height's standard deviation (pixels), from the steps
    between consecutive frames (NaN: not read). With a still camera each stretch of read steps is summed on
    its own; with a moving one the whole series is, and its eased move (a + b * smoothstep of the shot's
    time) fitted and taken out. None: too little read."""
    read = ~np.isnan(steps)
    if read.sum() < MIN_FRAMES:
        return None
    if still_camera:
        edges = np.flatnonzero(np.diff(np.concatenate([[0], read.astype(np.int8), [0]])))
        stds = [w for a, b in zip(edges[::2], edges[1::2]) if b - a >= MIN_FRAMES for w in _windows(np.cumsum(steps[a:b]))]
        return float(np.median(stds)) if stds else None
    if read.mean() < MOVING_READ:
        return None
    y = np.cumsum(np.where(read, steps, 0.0))
    u = np.clip((times - start) / max(1e-3, end - start), 0.0, 1.0)
    eased = np.stack([np.ones_like(u), u * u * (3 - 2 * u)], axis=1)
    return float(np.median(_windows(y - eased @ np.linalg.lstsq(eased, y, rcond=None)[0])))


@probe("rigidity", (MODE,))
def rigidity(media: ClipMedia) -> list[ModeScore]:
    """Robotic movement: how still the stillest figure holds (decision 217).

    For every shot and every steady face in it (`listeners.shot_faces`), the head-and-shoulders patch is
    followed from frame to frame (frozen frames, the edges of the shot, frames far from the tracker's
    samples and jumps to the search's edge left out) and its height summed over each stretch read; where
    the background shows the camera moving, its eased move is fitted and removed. A figure's sway is the
    median, over half-breath windows, of the height's standard deviation in pixels of the 640-wide luma: a
    breathing body sways ~0.5-3 px, a body animated like a machine ~0-0.25 px between moves. Score: minus
    the smallest sway in the clip (higher: stiller); windows: each figure's shot. No steady face followed
    long enough: no score.
    """
    if not len(media.frames) or media.luma is None or not len(media.luma):
        return [ModeScore(MODE, None)]
    tracks = face_tracks(media)
    times = media.frame_times
    scale = media.luma.shape[2] / media.frames.shape[2]
    windows: list[tuple[float, float, float]] = []
    for span in shot_spans(media):
        frames = moving_frames(media, span)  # clear of the cuts, frozen frames left out
        if len(frames) < MIN_FRAMES:
            continue
        shot = shot_faces(tracks, span.start, span.end)
        if not shot:
            continue
        still = camera_change(media.luma, frames, shot, scale) < STILL_CAMERA or _panning(media.luma, frames)
        if not still and span.end - span.start < MIN_MOVING_S:
            continue
        for faces in shot:
            figure = sway(height_steps(media.luma, frames, faces, times, scale), times[frames], span.start, span.end, still)
            if figure is not None:
                windows.append((span.start, span.end, -figure))
    if not windows:
        return [ModeScore(MODE, None)]
    return [ModeScore(MODE, max(w[2] for w in windows), {}, windows)]
