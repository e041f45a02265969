"""Faces without a learned detector: eye pairs, head edges, mouth curve, tracked across sampled frames.

OpenCV's Haar cascades find no faces on drawn figures (decision 053), so faces are found from the
parts every face shows (decision 099): two dark round pupils side by side, each inside a patch
brighter than the skin between them (the eye whites). Per found face, measured in units of the
eye separation `dx` (so the numbers do not depend on the framing):

- `turn`: where the eyes sit between the head's left and right edges on two cheek rows (the first
  pixels whose colour leaves the skin colour sampled under the eyes), -1..1, + = toward screen
  right. A face turned (or eyes looking) to one side puts its features off the head's centre.
- `curve`: curvature of the mouth (the upper edge of the non-skin pixels in the mouth band below
  the eyes, fitted with a parabola over columns), + = corners up (smile), - = corners down (frown).
- `mouth`: share of the mouth box that is far from the skin colour (opening; talking mouths vary).

`face_tracks(media)` runs this on a sparse grid of frames (every `STRIDE_S` seconds) and links
faces across frames by position and size; the probe `faces` reads the speaker's track per line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from diagnosers.media import ClipMedia

STRIDE_S = 0.32  # seconds between face-sampled frames (4 frames at 12.5 fps)
KERNEL = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
PUPIL_CONTRAST = 40  # black-hat response (grey levels) of a pupil inside its eye white
EDGE_TOL = 0.5  # the head's edge: colour change from the skin, as a share of the feature tolerance
# Mouth curve on fitting clips' lines: neutral lines read a median of -0.17 (the lips' own shape,
# an open mouth's arc); the curve grows by about 0.2 per unit of scripted valence (the median
# curve goes from -0.38 on lines with v < -0.3 to -0.03 on lines with v > 0.3).
RESTING_CURVE = -0.2
CURVE_GAIN = 0.2
# Faces with pupils under 16 px apart have lips a pixel or two deep: their curve is mostly noise,
# so the expression score shrinks in proportion (line AUC 0.863 -> 0.870 on fitting seeds 0-2).
FULL_FACE_DX = 16.0


@dataclass
class Face:
    """One face in one frame; positions in pixels of the media frame, shape numbers in units of dx."""

    t: float
    x: float          # mid-point of the pupils
    y: float
    dx: float         # pupil separation in pixels
    turn: float | None = None
    look: float | None = None
    curve: float | None = None
    mouth: float | None = None


@dataclass
class Track:
    faces: list[Face] = field(default_factory=list)

    @property
    def x(self) -> float:
        return float(np.median([f.x for f in self.faces]))

    def between(self, start: float, end: float) -> list[Face]:
        return [f for f in self.faces if start <= f.t <= end]


def _pupils(m: np.ndarray, scale: float) -> list[tuple[float, float, float]]:
    """Dark round spots much darker than their surroundings: (x, y, radius) in full-frame pixels."""
    bh = cv2.morphologyEx(m, cv2.MORPH_BLACKHAT, KERNEL)
    mask = (bh > PUPIL_CONTRAST).astype(np.uint8)
    n, _, stats, cents = cv2.connectedComponentsWithStats(mask, connectivity=8)
    out = []
    for k in range(1, n):
        _x0, _y0, w, h, area = stats[k]
        if area > 30 or w > 7 or h > 7:
            continue
        if max(w, h) > 1.8 * min(w, h) + 1:  # brows and lips are long, pupils round
            continue
        c = 0.5 * (scale - 1)  # pixel centres of a reduced image in full-frame pixels
        out.append((float(cents[k][0]) * scale + c, float(cents[k][1]) * scale + c, 0.5 * max(w, h) * scale))
    return out


def detect_faces(frame: np.ndarray, t: float = 0.0) -> list[Face]:
    """Faces in one RGB frame: pairs of pupils with brighter eye whites than the skin between them."""
    m = cv2.min(cv2.min(frame[:, :, 0], frame[:, :, 1]), frame[:, :, 2])
    H, W = m.shape
    half = cv2.resize(m, (W // 2, H // 2), interpolation=cv2.INTER_AREA)
    cands = _pupils(m, 1.0) + _pupils(half, 2.0) + _pupils(cv2.resize(half, (W // 4, H // 4), interpolation=cv2.INTER_AREA), 4.0)
    cands.sort()
    pairs = []

    def far(a: list[int], b: list[int]) -> int:
        return abs(a[0] - b[0]) + abs(a[1] - b[1]) + abs(a[2] - b[2])

    if len(cands) < 2:
        return []
    arr = np.array(cands)
    X, Y, R = arr[:, 0], arr[:, 1], arr[:, 2]
    D = X[None, :] - X[:, None]
    rmax, rmin = np.maximum(R[:, None], R[None, :]), np.minimum(R[:, None], R[None, :])
    # pupils of one face: level, alike, and 3-16 pupil radii apart
    level = ((D >= 3.5) & (D <= 90) & (np.abs(Y[None, :] - Y[:, None]) <= 1.0 + 0.1 * D) & (rmax <= 1.6 * rmin + 1)
          & (3 * rmax <= D) & (D <= 16 * rmax + 4))
    for i, j in zip(*np.nonzero(level)):
        (x1, y1, r1), (x2, y2, r2) = cands[i], cands[j]
        d = x2 - x1
        mx, ey = round((x1 + x2) / 2), round((y1 + y2) / 2)
        cy = round(ey + 0.35 * d)
        if not (0 <= cy < H and 0 <= mx < W):
            continue
        cheek = frame[cy, mx].tolist()
        tol = max(28.0, 0.25 * math.sqrt(sum(c * c for c in cheek)))
        # skin between the eyes like the cheek; eye whites brighter than that skin
        by = round(ey + 0.2 * d)  # under a glasses bridge
        if far(frame[by, mx].tolist(), cheek) > 1.5 * tol:
            continue
        xl, xr = round(x1 - 0.3 * d), round(x2 + 0.3 * d)
        if xl < 0 or xr >= W or max(far(frame[cy, xl].tolist(), cheek), far(frame[cy, xr].tolist(), cheek)) > 1.5 * tol:
            continue  # the cheeks on both sides are the same skin
        skin = min(cheek)
        whites = True
        for x, y in ((x1, y1), (x2, y2)):
            rr = max(2, round(0.3 * d))
            xi, yi = round(x), round(y)
            patch = m[max(0, yi - 1): yi + 2, max(0, xi - rr): xi + rr + 1]
            if patch.size == 0 or int(patch.max()) < skin + 12:
                whites = False
                break
        if whites:
            pairs.append((abs(y2 - y1) / d + abs(r1 - r2) / max(r1, r2), i, j))
    faces: list[Face] = []
    used: set[int] = set()
    for _, i, j in sorted(pairs):
        if i in used or j in used:
            continue
        (x1, y1, _), (x2, y2, _) = cands[i], cands[j]
        f = Face(t, (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1)
        if any(abs(g.x - f.x) < 0.5 * g.dx and abs(g.y - f.y) < 0.5 * g.dx for g in faces):
            continue  # the same face at the other scale
        used.update((i, j))
        faces.append(f)
    for f in faces:
        _measure(frame, f)
    # a face's mouth box is mostly skin with some lip pixels (walls and patterns are not)
    return [f for f in faces if f.mouth is not None and 0.02 < f.mouth < 0.85]


def _measure(frame: np.ndarray, f: Face) -> None:
    """Head turn, mouth curve and mouth opening of a found face (units of dx), on a crop around it."""
    H, W, _ = frame.shape
    d = f.dx
    Y0, X0 = max(0, int(f.y - 0.1 * d)), max(0, int(f.x - 2.5 * d))
    Y1, X1 = min(H, int(f.y + 1.3 * d) + 2), min(W, int(f.x + 2.5 * d) + 2)
    img = frame[Y0:Y1, X0:X1].astype(np.float32)  # crop coordinates: (y - Y0, x - X0)
    sy, sx = round(f.y + 0.35 * d), round(f.x)
    if not (Y0 <= sy < Y1 and X0 <= sx < X1):
        return
    skin = img[max(0, sy - 1 - Y0): sy + 2 - Y0, max(0, sx - 1 - X0): sx + 2 - X0].reshape(-1, 3).mean(axis=0)
    tol = max(28.0, 0.25 * float(np.linalg.norm(skin)))
    # head edges on two cheek rows: first run of 2 non-skin pixels beyond the eyes
    turns = []
    for row in (round(f.y + 0.25 * d), round(f.y + 0.45 * d)):
        if not Y0 <= row < Y1:
            continue
        far = np.linalg.norm(img[row - Y0] - skin, axis=1) > EDGE_TOL * tol
        edges = []
        for side in (-1, 1):
            xs = np.arange(round(f.x + side * 0.95 * d), round(f.x + side * 2.3 * d) + side, side)
            xs = xs[(xs >= X0) & (xs < X1 - 1) & (xs + side >= X0)]
            hit = np.nonzero(far[xs - X0] & far[xs + side - X0])[0] if len(xs) else []
            edges.append(xs[hit[0]] if len(hit) else None)
        if edges[0] is not None and edges[1] is not None and edges[1] > edges[0]:
            centre, half = (edges[0] + edges[1]) / 2, (edges[1] - edges[0]) / 2
            turns.append(float((f.x - centre) / half))
    if turns:
        f.turn = float(np.mean(turns))
    # pupils within the eye whites: the pupil's offset from the centre of the bright pixels around it
    Ye0 = max(Y0, round(f.y) - 1)
    if Ye0 < Y1:
        mins = img[Ye0 - Y0: round(f.y) + 2 - Y0].min(axis=2)
        white = mins > float(skin.min()) + 12
        offs = []
        for px in (f.x - d / 2, f.x + d / 2):
            a, b = max(X0, round(px - 0.35 * d)), min(X1, round(px + 0.35 * d) + 1)
            cols = np.nonzero(white[:, a - X0:b - X0].any(axis=0))[0]
            if len(cols) >= 2:
                offs.append((px - (a + 0.5 * (cols[0] + cols[-1]))) / d)
        if len(offs) == 2:
            f.look = float(np.mean(offs))
    # mouth band: rows 0.55..1.2 dx under the eyes (lips at 0.9, corners +-0.2), columns +-0.75 dx
    y0, y1 = round(f.y + 0.55 * d), round(f.y + 1.2 * d) + 1
    x0, x1 = round(f.x - 0.75 * d), round(f.x + 0.75 * d) + 1
    if y0 >= Y0 and y1 <= Y1 and x0 >= X0 and x1 <= X1 and y1 - y0 >= 3 and x1 - x0 >= 5:
        box = np.linalg.norm(img[y0 - Y0:y1 - Y0, x0 - X0:x1 - X0] - skin, axis=2) > tol
        f.mouth = float(box.mean())
        # the lips' upper edge per column, where the column starts on skin and meets the lips
        top = np.argmax(box, axis=0)
        cols = box.any(axis=0) & ~box[0]
        if cols.sum() >= 5:
            u = (np.arange(x0, x1)[cols] - f.x) / d
            if u.max() - u.min() > 0.6:
                c = np.polyfit(u, (y0 + top[cols] - f.y) / d, 2)[0]
                f.curve = float(-c)


def face_tracks(media: ClipMedia) -> list[Track]:
    """Faces on every `STRIDE_S` seconds' frame, linked into tracks by position (cached per clip)."""

    def compute(m: ClipMedia) -> list[Track]:
        step = max(1, round(STRIDE_S * m.fps))
        frames, times = m.frames, m.frame_times
        tracks: list[Track] = []
        for k in range(0, len(frames), step):
            for face in detect_faces(frames[k], float(times[k])):
                best, bd = None, None
                for tr in tracks:
                    last = tr.faces[-1]
                    if face.t - last.t > 1.0:
                        continue
                    dist = math.hypot(face.x - last.x, face.y - last.y)
                    if dist < 0.6 * max(face.dx, last.dx) and 0.6 < face.dx / last.dx < 1.6 and (bd is None or dist < bd):
                        best, bd = tr, dist
                if best is None:
                    best = Track()
                    tracks.append(best)
                best.faces.append(face)
        return tracks

    return media.feature("faces:tracks", compute)
