"""Picture probes: frozen picture, motion for scripted actions; block motion shared with lip sync."""

from __future__ import annotations

import numpy as np

from diagnosers.media import ClipMedia
from diagnosers.probes.align import align_lines
from diagnosers.probes.base import ModeScore, probe
from diagnosers.probes.features import cuts, frames_in, gray

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
    - action missing: see `action_scores`.
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


def action_scores(media: ClipMedia) -> ModeScore:
    """How far the speaker's body moves away from where it stood when each action line began.

    Per line with a scripted action (aligned span, static shots only, decision 107):

    - frames from 0.2 s before the line's start to 0.6 s after its end (an action is drawn from
      the start of the line and often held past its end), within the shot the line starts in,
      frozen frames left out;
    - the speaker's mouth is the block that moves in the most frames of the span (talking never
      stops for long within a line); the head's radius comes from the script's shot size
      (`HEAD_RADIUS`, in frame heights);
    - every frame is compared with the window's first frame (8×8 block mean |Δluma|): a block
      has *moved* when it differs by more than `MOVED_DIFF` grey levels. The figure is the region
      beyond one head radius from the mouth, no more than six radii to either side or above it
      (an arm's reach); the face is the disc within one radius;
    - score = −log((most figure area moved in any frame + 0.1) / (most face area moved + 0.1)),
      areas in head areas (radius²), so shots of any size compare. A raised arm, a slam, a lean,
      a reach or sitting down leaves the figure far from where it began; a talking head only
      changes its face, and the changes of a mouth return to where they started.

    Displacement from the start, not frame-to-frame motion: slow actions (standing up over a
    second, a lean) move little between frames but far in total (frame differences: AUC 0.79 on
    seeds 0–2; displacement: 0.97 on the same static shots).
    Not measured (no line score): lines whose scripted shot is tighter than a medium close-up
    (the arms are out of frame), lines in a moving shot (a pan, tilt, push-in or hand-held camera
    displaces the whole picture; compensating it with a tracked similarity transform left moving
    shots at AUC 0.70), and lines frozen for half their span or more (`sf.frozen_video` reports it).
    """
    import cv2

    scene = media.scene
    motion_blocks = block_motion(media)
    n, rows, cols = motion_blocks.shape
    spans = {ls.index: ls.span for ls in align_lines(media) if ls.span is not None}
    frozen = np.zeros(n, bool)
    for a, b in still_runs(media):
        frozen[a:b] = True
    cut_frames = sorted(media.frame_index(c) for c in cuts(media))
    g = gray(media)
    yy, xx = np.mgrid[:rows, :cols]
    missing, windows = {}, []
    for i, line in enumerate(scene.lines):
        if line.action is None or i not in spans:
            continue
        shot = _shot(scene, i)
        size = shot.size.value if shot is not None else "medium"
        if shot is not None and shot.movement.value != "static":
            continue
        radius = HEAD_RADIUS.get(size, HEAD_RADIUS["medium"])
        span_idx = frames_in(media, spans[i])
        if radius > ARMS_IN_FRAME or len(span_idx) < 3 or frozen[span_idx].mean() >= 0.5:
            continue
        start = int(span_idx[0])
        lo = max([0] + [c + 1 for c in cut_frames if c <= start])
        hi = min([n] + [c - 1 for c in cut_frames if c > start])
        k0 = max(lo, media.frame_index(max(0.0, spans[i].start - ACTION_WINDOW[0])))
        k1 = min(hi, media.frame_index(spans[i].end + ACTION_WINDOW[1]) + 1)
        idx = np.array([k for k in range(k0, k1) if not frozen[k]], int)
        inside = span_idx[(span_idx >= lo) & (span_idx < hi) & ~frozen[span_idx]]
        if len(idx) < 4 or len(inside) < 3:
            continue
        persistence = (motion_blocks[inside] > 1.5).mean(axis=0)
        my, mx = np.unravel_index(int(np.argmax(persistence)), persistence.shape)
        rb = radius * rows  # in blocks
        dist = np.hypot(yy - my, xx - mx)
        face = dist <= max(1.0, rb)
        figure = ~face & (np.abs(xx - mx) <= 6.0 * rb) & (yy >= my - 6.0 * rb)
        ref = g[idx[0]]
        moved = np.stack([cv2.resize(cv2.absdiff(g[k], ref)[: rows * 8, : cols * 8].astype(np.float32), (cols, rows),
                                     interpolation=cv2.INTER_AREA) for k in idx[1:]]) > MOVED_DIFF
        area = max(1.0, rb * rb)
        fig_moved = float(moved[:, figure].sum(axis=1).max()) / area
        face_moved = float(moved[:, face].sum(axis=1).max()) / area
        missing[i] = -float(np.log((fig_moved + 0.1) / (face_moved + 0.1)))
        windows.append((spans[i].start, spans[i].end, missing[i]))
    return ModeScore("mp.action_missing", max(missing.values()) if missing else None, missing, windows)


ACTION_WINDOW = (0.2, 0.6)  # seconds before an action line's start and after its end that its window adds
# (actions are drawn from the line's start and often held a little past its end)
MOVED_DIFF = 8.0  # grey levels (8x8 block mean) from the window's first frame at which a block counts as moved:
# above breathing and codec noise on still figures (1-3), below an arm or body edge crossing the block (20+)


# head radius (half height) in frame heights by shot size: a close-up's face fills about half the frame,
# a wide shot's whole figure about half of it
HEAD_RADIUS = {
    "extreme_wide": 0.027, "wide": 0.044, "full": 0.062, "medium": 0.11,
    "medium_close_up": 0.155, "close_up": 0.22, "extreme_close_up": 0.36,
}


ARMS_IN_FRAME = 0.16  # widest head radius (frame heights) at which a raised arm or a lean stays in frame:
# medium close-ups and wider (sparse seeds 0-2, static shots: displacement AUC 0.97-0.98 with medium close-ups)


def _shot(scene, line: int):
    """The scripted shot that covers a line (None when no shot lists it)."""
    for shot in scene.shots:
        if line in shot.lines:
            return shot
    return None


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
