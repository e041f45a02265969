"""Finding faces in one picture without a learned detector: eye pairs on a fine luma, head edges, mouth opening.

OpenCV's Haar cascades find no faces on drawn figures (decision 053), so faces are found from the
parts every face shows (decisions 099, 131): two dark round pupils side by side, each next to an
eye white brighter than the skin, in a face whose cheeks, forehead and the skin under the eyes
share one colour. The search runs on a luma finer than the frame when there is one (the judge's
`ClipMedia.luma`, 640x360) so that the pupils of a wide shot (3-4 px apart at 320x180) are found too;
colour comes from the frame. Per found face, measured in units of the pupil separation `dx` (so the
numbers do not depend on the framing):

- `turn`: where the eyes sit between the head's left and right edges on two cheek rows (the first
  pixels whose colour leaves the skin colour sampled under the eyes), -1..1, + = toward screen
  right. A face turned (or eyes looking) to one side puts its features off the head's centre.
- `look`: each pupil's offset from the middle of the eye white around it, + = toward screen right.
- `mouth`: share of the mouth box that is far from the skin colour (opening; talking mouths vary).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

KERNEL = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
# Pupils: peaks of the black-hat response (5×5 ellipse) smoothed over 3×3, above 23 grey levels, on
# the full-range luma at full, half, quarter and eighth size. Smoothing keeps a disc's response and
# weakens a thin line's (brows, glasses rims); peaks instead of connected components keep a pupil that touches
# a rim or the white's edge (decision 131: faces found in 12 fitting clips, 519 → 677 of 882).
SPOT_CONTRAST = 23
# Eye whites (top-hat spots above 35 levels, 2-7 px at quarter and eighth size) add their darkest
# neighbouring pixel as a pupil: a pupil next to dark skin under a night grade has no bright ring
# around it for the black-hat to see.
WHITE_CONTRAST = 35
EDGE_TOL = 0.5  # the head's edge: colour change from the skin, as a share of the feature tolerance
# Faces whose pupils are this many frame pixels apart or more are checked and measured on the frame
# itself (a finer luma adds nothing there but cost); smaller ones on the finer luma with the frame's colour.
FINE_BELOW_DX = 16.0
RELOCATE_ACROSS, RELOCATE_UP = 0.3, 0.15  # how far a followed pupil is looked for (units of dx; `_pupil_near`)


def _colour_distance(diff: np.ndarray) -> np.ndarray:
    """Euclidean length over the last (RGB) axis: `np.linalg.norm(diff, axis=-1)`, summed in the same
    order ((r² + g²) + b², checked equal), without its per-call overhead (~60 µs on a mouth box)."""
    sq = diff * diff
    return np.sqrt(sq[..., 0] + sq[..., 1] + sq[..., 2])


@dataclass
class Face:
    """One face in one frame; positions in pixels of the media frame, shape numbers in units of dx."""

    t: float
    x: float          # mid-point of the pupils
    y: float
    dx: float         # pupil separation in pixels
    turn: float | None = None
    look: float | None = None
    mouth: float | None = None


@dataclass(frozen=True)
class Picture:
    """One frame for the face search: the RGB frame and a full-range luma of it at the same or a finer size."""

    frame: np.ndarray      # (H, W, 3) RGB
    luma: np.ndarray       # (h, w) uint8 full-range luma, w >= W

    @property
    def scale(self) -> float:
        return self.luma.shape[1] / self.frame.shape[1]

    def coarse(self) -> Picture:
        """The frame itself with its own grey: measuring a big face in finer detail buys nothing."""
        return Picture(self.frame, cv2.cvtColor(self.frame, cv2.COLOR_RGB2GRAY))

    def rgb(self, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
        """Float RGB of luma pixels [y0:y1, x0:x1]: the frame's colour upsampled, the luma's detail."""
        H, W, _ = self.frame.shape
        f = self.scale
        if f == 1.0:
            return self.frame[y0:y1, x0:x1].astype(np.float32)
        sx0, sy0 = max(0, int(x0 / f) - 1), max(0, int(y0 / f) - 1)
        sx1, sy1 = min(W, math.ceil(x1 / f) + 1), min(H, math.ceil(y1 / f) + 1)
        small = self.frame[sy0:sy1, sx0:sx1].astype(np.float32)
        size = (round((sx1 - sx0) * f), round((sy1 - sy0) * f))
        up = cv2.resize(small, size, interpolation=cv2.INTER_LINEAR)
        grey = cv2.resize(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), size, interpolation=cv2.INTER_LINEAR)
        ox, oy = round(sx0 * f), round(sy0 * f)
        sl = (slice(y0 - oy, y1 - oy), slice(x0 - ox, x1 - ox))
        detail = self.luma[y0:y1, x0:x1].astype(np.float32) - grey[sl]
        # the detail copied to the three channels, not broadcast over them: numpy's inner loop over a
        # 3-long axis costs twice the whole crop (decision 223); same sums
        out = up[sl] + cv2.merge((detail, detail, detail))
        return np.clip(out, 0, 255, out=out)


def _spots(img: np.ndarray, scale: float) -> np.ndarray:
    """Dark spots (x, y, radius, strength) in luma pixels: peaks of the smoothed black-hat response."""
    smooth = cv2.GaussianBlur(cv2.morphologyEx(img, cv2.MORPH_BLACKHAT, KERNEL), (3, 3), 0.8)
    above = cv2.findNonZero(cv2.compare(smooth, SPOT_CONTRAST, cv2.CMP_GT))
    if above is None:
        return np.zeros((0, 4))
    xs, ys = above[:, 0, 0], above[:, 0, 1]
    peak = smooth[ys, xs] >= cv2.dilate(smooth, np.ones((3, 3), np.uint8))[ys, xs]
    xs, ys = xs[peak], ys[peak]
    c = 0.5 * (scale - 1)  # pixel centres of a reduced image in luma pixels
    return np.column_stack([xs * scale + c, ys * scale + c, np.full(len(xs), 1.25 * scale), smooth[ys, xs]]).astype(np.float64)


def _white_spots(img: np.ndarray, scale: float, luma: np.ndarray) -> np.ndarray:
    """Eye whites (bright compact spots); each gives the darkest luma pixel next to it as a pupil."""
    mask = cv2.compare(cv2.morphologyEx(img, cv2.MORPH_TOPHAT, KERNEL), WHITE_CONTRAST, cv2.CMP_GT)
    _, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    x0, y0, w, h, area = stats[1:].T
    keep = (area <= 30) & (w <= 7) & (h <= 7) & (w >= 2) & (np.maximum(w, h) <= 2.5 * np.minimum(w, h) + 1)
    out = []
    for x0, y0, w, h in stats[1:][keep, :4].tolist():
        fx0, fy0 = max(0, int((x0 - 0.5) * scale)), max(0, int(y0 * scale))
        patch = luma[fy0: int((y0 + h) * scale) + 1, fx0: int((x0 + w + 0.5) * scale) + 1]
        if patch.size == 0:
            continue
        py, px = divmod(int(patch.argmin()), patch.shape[1])
        contrast = int(patch.max()) - int(patch[py, px])
        if contrast >= 2 * WHITE_CONTRAST:
            out.append((fx0 + px, fy0 + py, 0.5 * max(w, h) * scale, 0.5 * contrast))
    return np.array(out, np.float64).reshape(-1, 4)


def _candidates(luma: np.ndarray) -> np.ndarray:
    """Pupil candidates at every size, one per 3-pixel cell (the finest size's where several sizes see it)."""
    h, w = luma.shape
    half = cv2.resize(luma, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    quarter = cv2.resize(half, (w // 4, h // 4), interpolation=cv2.INTER_AREA)
    eighth = cv2.resize(quarter, (w // 8, h // 8), interpolation=cv2.INTER_AREA)
    arr = np.concatenate([_spots(luma, 1.0), _spots(half, 2.0), _spots(quarter, 4.0), _spots(eighth, 8.0),
                          _white_spots(quarter, 4.0, luma), _white_spots(eighth, 8.0, luma)])
    if len(arr) < 2:
        return arr
    # one per 3-pixel cell: the first found, i.e. at the finest size
    _, first = np.unique(np.round(arr[:, :2] / 3.0).astype(np.int64) @ np.array([1, 1 << 20]), return_index=True)
    return arr[np.sort(first)]


def _pairs(luma: np.ndarray, arr: np.ndarray, scale: float) -> list[tuple[int, int]]:
    """Candidate pairs that could be two eyes: level, alike, 3-16 radii apart, and on the luma (all pairs at
    once) skin alike under, between, beside and above the eyes, pupils darker and whites brighter than it."""
    h, w = luma.shape
    X, Y, R, S = arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3]
    D = X[None, :] - X[:, None]
    rmax, rmin = np.maximum(R[:, None], R[None, :]), np.minimum(R[:, None], R[None, :])
    level = ((D >= 6) & (D <= 90 * scale) & (np.abs(Y[None, :] - Y[:, None]) <= scale + 0.1 * D)
             & (rmax <= 2.1 * rmin + scale) & (3 * rmax <= D) & (D <= 16 * rmax + 4 * scale))
    I, J = np.nonzero(level)
    if not len(I):
        return []
    x1, y1, x2, y2 = X[I], Y[I], X[J], Y[J]
    d = x2 - x1
    xm, ey = (x1 + x2) / 2, (y1 + y2) / 2
    # every sample point of every pair, read in one gather: (x, y) offsets from (xm, ey) in units of d,
    # then the two pupils and four points beside each (their eye whites)
    face_pts = [(0, 0.35), (0, -0.2), (0, 0.2), (-0.5, 0.52), (0.5, 0.52)]
    px = np.concatenate([xm + a * d for a, _ in face_pts] + [x1, x2] + [x + k * d for x in (x1, x2) for k in (-0.25, -0.15, 0.15, 0.25)])
    py = np.concatenate([ey + b * d for _, b in face_pts] + [y1, y2] + [y for y in (y1, y2) for _ in range(4)])
    v = luma[np.clip(np.rint(py).astype(np.intp), 0, h - 1), np.clip(np.rint(px).astype(np.intp), 0, w - 1)].astype(np.int16)
    v = v.reshape(-1, len(I))
    cheek, skin, p1, p2, w1, w2 = v[0], v[1:5], v[5], v[6], v[7:11].max(axis=0), v[11:15].max(axis=0)
    tol = np.maximum(21, 0.2 * cheek)
    ok = ((np.abs(skin - cheek) < tol).all(axis=0) & (p1 < cheek - 6) & (p2 < cheek - 6)
          & (w1 > np.maximum(cheek + 3, p1 + 17)) & (w2 > np.maximum(cheek + 3, p2 + 17)))
    I, J = I[ok], J[ok]
    # strongest pupils first, then the best aligned
    order = np.lexsort((np.abs(Y[J] - Y[I]) / (X[J] - X[I]), -np.minimum(S[I], S[J])))
    return list(zip(I[order].tolist(), J[order].tolist()))


def _refine(luma: np.ndarray, x: float, y: float, d: float, across: float = 0.45, up: float = 0.3) -> tuple[float, float]:
    """The pupil near (x, y) (within `across` d sideways, `up` d up or down): the darkest disc of radius
    0.12 d against its surround (a glasses rim or a brow is thinner than a pupil, so a pair found on them
    moves to the pupils)."""
    h, w = luma.shape
    r = max(1, round(0.12 * d))
    x0, x1 = max(0, round(x - across * d) - 2 * r), min(w, round(x + across * d) + 2 * r + 1)
    y0, y1 = max(0, round(y - up * d) - 2 * r), min(h, round(y + up * d) + 2 * r + 1)
    win = luma[y0:y1, x0:x1].astype(np.float32)
    if win.shape[0] < 4 * r + 1 or win.shape[1] < 4 * r + 1:
        return x, y
    k1, k2 = 2 * r + 1, 4 * r + 1
    disc = cv2.boxFilter(win, -1, (k1, k1), borderType=cv2.BORDER_REPLICATE)
    big = cv2.boxFilter(win, -1, (k2, k2), borderType=cv2.BORDER_REPLICATE)
    contrast = (big * (k2 * k2) - disc * (k1 * k1)) / (k2 * k2 - k1 * k1) - disc
    m = 2 * r
    inner = contrast[m:contrast.shape[0] - m, m:contrast.shape[1] - m]
    py, px = divmod(int(np.argmax(inner)), inner.shape[1])
    return float(x0 + m + px), float(y0 + m + py)


def _is_face(pic: Picture, x1: float, y1: float, r1: float, x2: float, y2: float, r2: float, strict: bool = True) -> bool:
    """Two eyes in a face: skin (one colour) on both cheeks, the forehead and under the bridge; each pupil
    darker and an eye white beside it brighter than that skin (in luma: a grade may empty a channel).
    Not `strict` (a face followed from an earlier sample): the forehead and the bridge are not checked
    (pupils looking far aside put glasses' rims into those boxes)."""
    h, w = pic.luma.shape
    d = x2 - x1
    xm, ey = (x1 + x2) / 2, (y1 + y2) / 2
    X0, X1, Y0, Y1 = round(xm - 0.75 * d), round(xm + 0.75 * d) + 1, round(ey - 0.3 * d), round(ey + 0.62 * d) + 1
    if X0 < 0 or Y0 < 0 or X1 > w or Y1 > h:
        return False
    lum = pic.luma[Y0:Y1, X0:X1].astype(np.int16)

    def box(img, ya, yb, xa, xb):
        return img[max(0, round(ey + ya * d) - Y0): round(ey + yb * d) - Y0 + 1, max(0, round(xm + xa * d) - X0): round(xm + xb * d) - X0 + 1]

    # cheeks beside and below the eyes: clear of glasses rims, an open mouth and a moustache
    sides = ((-0.6, -0.4), (0.4, 0.6))
    cheek_luma = [box(lum, 0.48, 0.6, a, b).ravel() for a, b in sides]
    if min(len(c) for c in cheek_luma) < 2:
        return False
    # the luma tests first (cheap): each pupil darker and a white beside it brighter than the cheeks
    low = float(np.median(np.concatenate(cheek_luma)))
    for x, y, r in ((x1, y1, r1), (x2, y2, r2)):
        xi, yi = round(x) - X0, round(y) - Y0
        rr, ww = max(1, round(0.5 * r)), max(2, round(0.3 * d))
        if float(lum[max(0, yi - rr): yi + rr + 1, max(0, xi - rr): xi + rr + 1].min()) > low - 9:
            return False
        if float(lum[max(0, yi - 1): yi + 2, max(0, xi - ww): xi + ww + 1].max()) < low + 12:
            return False
    crop = pic.rgb(X0, Y0, X1, Y1)
    cheeks = [box(crop, 0.48, 0.6, a, b).reshape(-1, 3) for a, b in sides]
    skin = np.median(np.concatenate(cheeks), axis=0)
    tol = max(28.0, 0.25 * float(np.linalg.norm(skin)))

    def skin_share(p):
        p = p.reshape(-1, 3)
        return float((np.abs(p - skin).sum(axis=1) < tol).mean()) if len(p) else 0.0

    return min(skin_share(c) for c in cheeks) >= 0.6 and (not strict or (skin_share(box(crop, -0.27, -0.13, -0.1, 0.1)) >= 0.5
                                                           and skin_share(box(crop, 0.15, 0.25, -0.08, 0.08)) >= 0.5))


def find_faces(pic: Picture, t: float, band: tuple[int, int, int, int] | None = None) -> list[Face]:
    """Faces (in luma pixels) of one picture; with `band` = (x0, y0, x1, y1), only pupils inside it (a
    region aligned to 8 luma pixels, so that its reduced sizes match the whole picture's)."""
    if band is None:
        arr = _candidates(pic.luma)
    else:
        x0, y0, x1, y1 = band
        arr = _candidates(pic.luma[y0:y1, x0:x1]) + np.array([x0, y0, 0, 0], np.float64)
    if len(arr) < 2:
        return []
    faces: list[Face] = []
    used: set[int] = set()
    coarse: list[Picture] = []
    pairs = _pairs(pic.luma, arr, pic.scale)
    # refined pupils first (a pair found on glasses rims moves to the pupils), then the pairs as found
    for refined in (True, False):
        for i, j in pairs:
            if i in used or j in used:
                continue
            (a1, b1, r1), (a2, b2, r2) = arr[i, :3], arr[j, :3]
            if any(abs(g.x - (a1 + a2) / 2) < 0.6 * g.dx and abs(g.y - (b1 + b2) / 2) < 0.6 * g.dx for g in faces):
                continue  # on a face already found
            if refined:
                span = a2 - a1
                a1, b1 = _refine(pic.luma, a1, b1, span)
                a2, b2 = _refine(pic.luma, a2, b2, span)
                if not (0.5 * span < a2 - a1 < 2 * span and abs(b2 - b1) < 0.15 * (a2 - a1)):
                    continue
            if any(abs(g.x - (a1 + a2) / 2) < 0.6 * g.dx and abs(g.y - (b1 + b2) / 2) < 0.6 * g.dx for g in faces):
                continue  # the same face again
            if _checked(pic, a1, b1, r1, a2, b2, r2, coarse):
                used.update((i, j))
                faces.append(Face(t, (a1 + a2) / 2, (b1 + b2) / 2, a2 - a1))
    for face in faces:
        _measured(pic, face, coarse)
    # a face's mouth box is mostly skin with some lip pixels (walls and patterns are not)
    return [f for f in faces if f.mouth is not None and 0.02 < f.mouth < 0.85]


def relocate(pic: Picture, prev: Face, t: float) -> Face | None:
    """The face `prev` (luma pixels, an earlier sample) found again in `pic`: each pupil is the strongest dark
    spot near where it was (`_pupil_near`), the pair checked as a new find is and measured; None when it does
    not check (a blink, a turn away, the face gone)."""
    d = prev.dx
    p1 = _pupil_near(pic.luma, prev.x - d / 2, prev.y, d)
    p2 = _pupil_near(pic.luma, prev.x + d / 2, prev.y, d)
    if p1 is None or p2 is None:
        return None
    (a1, b1, r), (a2, b2, _) = p1, p2
    if not (0.75 * d < a2 - a1 < 1.33 * d and abs(b2 - b1) < 0.15 * (a2 - a1)):
        return None
    coarse: list[Picture] = []
    if not _checked(pic, a1, b1, r, a2, b2, r, coarse, strict=False):
        return None
    face = _measured(pic, Face(t, (a1 + a2) / 2, (b1 + b2) / 2, a2 - a1), coarse)
    return face if face.mouth is not None and 0.02 < face.mouth < 0.85 else None


def _pupil_near(luma: np.ndarray, x: float, y: float, d: float) -> tuple[float, float, float] | None:
    """(x, y, radius) of the strongest dark spot (the black-hat peak of `_spots`, at the size where a pupil of
    0.1 dx spans the kernel's 1.25 px) within RELOCATE_ACROSS dx sideways and RELOCATE_UP dx up or down of
    (x, y), centred on the darkness around the peak; None without one. Pupils move up to 0.25 dx between
    samples when the gaze swings across, a brow sits 0.4 dx above them and glasses' bridge 0.5 dx aside."""
    h, w = luma.shape
    s = 1 << max(0, min(3, round(math.log2(max(1.0, 0.08 * d)))))
    ax, ay = RELOCATE_ACROSS * d, RELOCATE_UP * d
    x0, y0 = max(0, (int(x - ax) - 3 * s) // s * s), max(0, (int(y - ay) - 3 * s) // s * s)
    x1, y1 = min(w, -(-(int(x + ax) + 3 * s + 1) // s) * s), min(h, -(-(int(y + ay) + 3 * s + 1) // s) * s)
    if x1 - x0 < 3 * s or y1 - y0 < 3 * s:
        return None
    win = luma[y0:y1, x0:x1]
    small = win if s == 1 else cv2.resize(win, ((x1 - x0) // s, (y1 - y0) // s), interpolation=cv2.INTER_AREA)
    resp = cv2.GaussianBlur(cv2.morphologyEx(small, cv2.MORPH_BLACKHAT, KERNEL), (3, 3), 0.8).astype(np.float32)
    c = 0.5 * (s - 1)
    gx = (np.arange(resp.shape[1]) * s + c + x0 - x) / max(ax, 1.0)
    gy = (np.arange(resp.shape[0]) * s + c + y0 - y) / max(ay, 1.0)
    resp[(np.abs(gy)[:, None] > 1) | (np.abs(gx)[None, :] > 1)] = 0
    py, px = divmod(int(resp.argmax()), resp.shape[1])
    if resp[py, px] <= SPOT_CONTRAST:
        return None
    # the darkness-weighted centre of the peak's neighbourhood, at full size
    cx, cy = px * s + c + x0, py * s + c + y0
    r = max(1, round(1.25 * s))
    bx0, by0 = max(0, round(cx) - r), max(0, round(cy) - r)
    box = luma[by0: round(cy) + r + 1, bx0: round(cx) + r + 1].astype(np.float32)
    dark = np.maximum(0.0, box.max() - box) ** 2
    if dark.sum() > 0:
        cy = by0 + float((dark.sum(axis=1) * np.arange(box.shape[0])).sum() / dark.sum())
        cx = bx0 + float((dark.sum(axis=0) * np.arange(box.shape[1])).sum() / dark.sum())
    return cx, cy, 1.25 * s


def _big(pic: Picture, dx: float) -> bool:
    return pic.scale > 1 and dx >= FINE_BELOW_DX * pic.scale


def _checked(pic: Picture, a1: float, b1: float, r1: float, a2: float, b2: float, r2: float, coarse: list[Picture],
             strict: bool = True) -> bool:
    """`_is_face` on the frame itself for a big face (`FINE_BELOW_DX`), else on the finer luma."""
    if not _big(pic, a2 - a1):
        return _is_face(pic, a1, b1, r1, a2, b2, r2, strict)
    if not coarse:
        coarse.append(pic.coarse())
    f = pic.scale
    return _is_face(coarse[0], a1 / f, b1 / f, r1 / f, a2 / f, b2 / f, r2 / f, strict)


def measure_face(pic: Picture, face: Face) -> Face:
    """A face placed from elsewhere (eyes at x, y, pupils dx apart), measured as a found one: turn, look, mouth."""
    return _measured(pic, face, [])


def _measured(pic: Picture, face: Face, coarse: list[Picture]) -> Face:
    """`_measure` on the frame itself for a big face, else on the finer luma; the face, measured."""
    if not _big(pic, face.dx):
        _measure(pic, face)
        return face
    if not coarse:
        coarse.append(pic.coarse())
    f = pic.scale
    small = Face(face.t, face.x / f, face.y / f, face.dx / f)
    _measure(coarse[0], small)
    face.turn, face.look, face.mouth = small.turn, small.look, small.mouth
    return face


def detect_faces(frame: np.ndarray, t: float = 0.0, luma: np.ndarray | None = None, luma_map: tuple[float, float] = (1.0, 0.0)) -> list[Face]:
    """Faces in one RGB frame, searched on `luma` (a finer luma of the same picture, mapped to full range by
    `luma_map` = (gain, offset)) when given; positions in the frame's pixels."""
    if luma is None:
        luma = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    elif luma_map != (1.0, 0.0):
        gain, offset = luma_map
        luma = cv2.LUT(luma, np.clip(np.arange(256) * gain + offset, 0, 255).astype(np.uint8))
    pic = Picture(frame, luma)
    f = pic.scale
    return [Face(g.t, g.x / f, g.y / f, g.dx / f, g.turn, g.look, g.mouth) for g in find_faces(pic, t)]


def _measure(pic: Picture, f: Face) -> None:
    """Head turn, pupil look and mouth opening of a found face (units of dx), on a crop around it."""
    h, w = pic.luma.shape
    d = f.dx
    Y0, X0 = max(0, int(f.y - 0.1 * d)), max(0, int(f.x - 2.5 * d))
    Y1, X1 = min(h, int(f.y + 1.3 * d) + 2), min(w, int(f.x + 2.5 * d) + 2)
    img = pic.rgb(X0, Y0, X1, Y1)  # crop coordinates: (y - Y0, x - X0)
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
        far = _colour_distance(img[row - Y0] - skin) > EDGE_TOL * tol
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
        f.turn = float(sum(turns) / len(turns))
    # pupils within the eye whites: the pupil's offset from the centre of the bright luma around it
    Ye0 = max(Y0, round(f.y) - 1)
    if Ye0 < Y1:
        skin_y = float(np.median(pic.luma[max(0, sy - 1): sy + 2, max(0, sx - 1): sx + 2]))
        white = pic.luma[Ye0: round(f.y) + 2, X0:X1].astype(np.int16) > skin_y + 12
        offs = []
        for px in (f.x - d / 2, f.x + d / 2):
            a, b = max(X0, round(px - 0.35 * d)), min(X1, round(px + 0.35 * d) + 1)
            cols = np.nonzero(white[:, a - X0:b - X0].any(axis=0))[0]
            if len(cols) >= 2:
                offs.append((px - (a + 0.5 * (cols[0] + cols[-1]))) / d)
        if len(offs) == 2:
            f.look = float(sum(offs) / len(offs))
    # mouth band: rows 0.55..1.2 dx under the eyes (lips at 0.9), columns +-0.75 dx
    y0, y1 = round(f.y + 0.55 * d), round(f.y + 1.2 * d) + 1
    x0, x1 = round(f.x - 0.75 * d), round(f.x + 0.75 * d) + 1
    if y0 >= Y0 and y1 <= Y1 and x0 >= X0 and x1 <= X1 and y1 - y0 >= 3 and x1 - x0 >= 5:
        box = _colour_distance(img[y0 - Y0:y1 - Y0, x0 - X0:x1 - X0] - skin) > tol
        f.mouth = float(box.mean())
