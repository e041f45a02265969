"""Camera motivation: the camera moves in a shot the script holds still (decision 218).

Generators often let the camera wander: a drift across, a shake, a creep in, where the script asks for a
locked-off shot. A camera move carries the whole picture with it, the set behind the characters included;
a figure that moves leaves the set where it was. The probe tracks corners spread over the picture from a
shot's first frame, fits the move that carries them (a similarity: shift, zoom, roll) and reads how far it
takes the picture's corners, unless part of the picture held still.
"""

from __future__ import annotations

import cv2
import numpy as np

from diagnosers.media import ClipMedia
from diagnosers.probes.base import ModeScore, probe
from diagnosers.probes.features import cuts, frame_diff, frame_diff_noise, gray
from diagnosers.probes.picture import frozen_frames
from diagnosers.probes.staging import scripted_shot_spans
from scenes.vocabulary import Movement

MODE = "ic.camera_motivation_issues"
# Corners tracked: up to PER_CELL in each cell of a rows x columns grid, each cell on its own quality
# scale, this far apart (pixels of the half-size picture); fewer than MIN_TRACKED in all: not read.
GRID, PER_CELL, QUALITY, MIN_DISTANCE, MIN_TRACKED = (3, 4), 6, 0.05, 4, 12
# A camera move moves every corner; a figure's move leaves the set's corners where they were. A frame where
# this share of the grid's cells kept their corners within STILL_PX (640-wide pixels) is read as a still camera.
STILL_SHARE, STILL_PX = 0.25, 4.0
# The corners moving more than this (640-wide pixels) between two frames read (0.16 s apart) is faster than
# a camera moves (the renderer's fastest shake: ~26 px in that time): the fit followed a figure.
LEAP_PX = 30.0
# Every n-th frame is compared with the shot's first (0.16 s apart at the judge's 12.5 fps).
STRIDE = 2
# Frames this close to a shot's ends are left out (a dissolve, the encoder's first frame of a shot).
EDGE_S = 0.15
MIN_FRAMES = 6
# A jump: a frame-to-frame change JUMP_SPIKE times the median of its six neighbours' and over JUMP_MIN grey levels.
JUMP_SPIKE, JUMP_MIN = 5.0, 4.0
# Displacements are reported in pixels of a 640-wide picture whatever the decode size.
REPORT_WIDTH = 640


def spread_corners(first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Up to `PER_CELL` corners in each cell of a `GRID` over the picture, each cell on its own quality scale
    (so that a low-contrast set keeps its corners beside a sharply drawn face), and each corner's cell."""
    h, w = first.shape
    rows, cols = GRID
    pts, cells = [], []
    for r in range(rows):
        for c in range(cols):
            y0, y1, x0, x1 = r * h // rows, (r + 1) * h // rows, c * w // cols, (c + 1) * w // cols
            found = cv2.goodFeaturesToTrack(first[y0:y1, x0:x1], PER_CELL, QUALITY, MIN_DISTANCE)
            if found is not None:
                pts.append(found + np.array([x0, y0], np.float32))
                cells += [r * cols + c] * len(found)
    if not pts:
        return np.zeros((0, 1, 2), np.float32), np.zeros(0, int)
    return np.concatenate(pts), np.asarray(cells)


def _held_share(moved: np.ndarray, cells: np.ndarray, still: float) -> float:
    """The share of the grid's cells (those with corners) whose corners mostly stayed within `still`."""
    held = [np.median(moved[cells == c]) < still for c in np.unique(cells)]
    return float(np.mean(held)) if held else 0.0


def corner_shift(first: np.ndarray, frames: list[np.ndarray], still: float, leap: float) -> float | None:
    """How far the picture's corners move from `first` over `frames` (pixels of the picture given): the
    camera's move as a similarity transform fitted with RANSAC to corners tracked from the first frame
    (Lucas-Kanade), so that moving figures are outliers against the still set.

    Where the set has few corners the fit can follow a moving figure instead, so a frame where
    `STILL_SHARE` of the grid's cells kept their corners within `still` reads 0 (the set held still), and a
    move of more than `leap` between two frames read restarts the measure from there. None: too few
    corners to track."""
    pts, cell = spread_corners(first)
    if len(pts) < MIN_TRACKED:
        return None
    h, w = first.shape
    corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], np.float64)
    anchor = previous = np.zeros((4, 2))
    worst, read = 0.0, False
    for frame in frames:
        moved, ok, _ = cv2.calcOpticalFlowPyrLK(first, frame, pts, None, winSize=(15, 15), maxLevel=3)
        ok = ok.ravel().astype(bool)
        if ok.sum() < MIN_TRACKED:
            continue
        m, _ = cv2.estimateAffinePartial2D(pts[ok], moved[ok], method=cv2.RANSAC, ransacReprojThreshold=1.0)
        if m is None:
            continue
        shift = corners @ m.T - corners[:, :2]
        if np.hypot(*(shift - previous).T).max() > leap:
            anchor = shift
        previous, read = shift, True
        if _held_share(np.hypot(*(moved[ok] - pts[ok]).reshape(-1, 2).T), cell[ok], still) >= STILL_SHARE:
            continue
        worst = max(worst, float(np.hypot(*(shift - anchor).T).max()))
    return worst if read else None


def jumps(media: ClipMedia) -> np.ndarray:
    """Frames where the picture jumps: a change from the previous frame `JUMP_SPIKE` times its neighbours'
    (and over `JUMP_MIN` grey levels): a cut the detector missed, such as a jump cut between near-identical
    framings. A camera move, however fast, changes the picture smoothly from frame to frame."""
    d = frame_diff(media)
    jumped = (d > JUMP_MIN) & (d > JUMP_SPIKE * frame_diff_noise(media) + 0.5)
    jumped[:1] = False
    return np.flatnonzero(jumped)


def shot_moves(media: ClipMedia) -> dict[int, float]:
    """Per scripted static shot read: how far the camera moved in it (`corner_shift`, pixels of a 640-wide
    frame), over its parts between detected cuts and jumps (`jumps`), frozen frames and 0.15 s at the ends
    left out."""

    def compute(m: ClipMedia) -> dict[int, float]:
        times = m.frame_times
        static = [k for k, shot in enumerate(m.scene.shots) if shot.movement is Movement.static]
        if not len(times) or not len(m.frames) or not static:
            return {}
        spans = scripted_shot_spans(m)
        luma = np.ascontiguousarray(gray(m)[:, ::2, ::2])
        unit = REPORT_WIDTH / luma.shape[2]
        frozen = frozen_frames(m)
        breaks = [*cuts(m), *times[jumps(m)]]
        out: dict[int, float] = {}
        for k in static:
            span = spans[k] if k < len(spans) else None
            if span is None:
                continue
            start, end = span
            bounds = [start, *sorted(c for c in breaks if start + EDGE_S < c < end - EDGE_S), end]
            for a, b in zip(bounds[:-1], bounds[1:]):
                idx = np.nonzero((times >= a + EDGE_S) & (times <= b - EDGE_S) & ~frozen)[0]
                if len(idx) < MIN_FRAMES:
                    continue
                later = [luma[j] for j in np.concatenate([idx[STRIDE::STRIDE], idx[-1:]])]
                part = corner_shift(luma[idx[0]], later, STILL_PX / unit, LEAP_PX / unit)
                if part is not None:
                    out[k] = max(out.get(k, 0.0), part * unit)
        return out

    return media.feature("camera:shot_moves", compute)


@probe("camera", (MODE,))
def camera(media: ClipMedia) -> list[ModeScore]:
    """Unmotivated camera movement: in each shot the script keeps static (its span from the detected cuts,
    `staging.scripted_shot_spans`), how far the camera moves from where it stood at the shot's first frame,
    as the largest displacement of the picture's corners (pixels of a 640-wide frame) under the similarity
    transform that carries the set's corners there (`corner_shift`: a drift, a shake, a creep in or out).
    Every second frame is read against the first; frozen frames and the shot's edges are left out, and a
    detected cut or a jump (`jumps`) inside the span splits it, each part read on its own (`shot_moves`).
    Score: the largest over the static shots; windows: each static shot read. No static shot read: no score.
    """
    moves = shot_moves(media)
    if not moves:
        return [ModeScore(MODE, None)]
    spans = scripted_shot_spans(media)
    windows = [(spans[k][0], spans[k][1], v) for k, v in sorted(moves.items())]
    return [ModeScore(MODE, max(moves.values()), {}, windows, {"corner_shift_px": {str(k): round(v, 2) for k, v in moves.items()}})]
