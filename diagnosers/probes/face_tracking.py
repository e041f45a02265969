"""Faces tracked across a clip's sampled frames (the finder: `face_finder`, decisions 099, 131).

`face_tracks(media)` finds faces on a sparse grid of frames (every `STRIDE_S` seconds; the whole
picture now and then, crops around the faces in between) and links them across frames by position
and size; the probes `faces` and `staging` (and the voice and sync probes) read the tracks.
Positions (`x`, `y`, `dx`) are in pixels of the media's frames, whatever the luma's size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from diagnosers.media import ClipMedia
from diagnosers.probes.face_finder import Face, Picture, detect_faces, find_faces, relocate  # noqa: F401  (Face, detect_faces: re-exported)
from diagnosers.probes.features import shot_spans

STRIDE_S = 0.32  # seconds between face-sampled frames (4 frames at 12.5 fps; decision 099)
# A face moves less than this many pupil separations between sampled frames (a pan moves a medium
# shot's face about 0.6; 0.6 split panning faces into several tracks, decision 131).
LINK_DX = 1.2
# A shot shorter than 3 sampled frames gets 3 frames of its own (a single of 0.6 s had one face sample).
MIN_SHOT_SAMPLES = 3
# The whole picture is searched at a shot's first sampled frame, then every SEARCH_EVERY-th while faces are
# followed (someone may step in) and every EMPTY_EVERY-th while none is; in between each followed face is
# found again near where it was (decision 134).
SEARCH_EVERY = 6
EMPTY_EVERY = 2
# A followed face not found again (a blink, a turn) is looked for at its last place this many more samples.
MISSES = 2


@dataclass
class Track:
    faces: list[Face] = field(default_factory=list)

    @property
    def x(self) -> float:
        return float(np.median([f.x for f in self.faces]))

    def between(self, start: float, end: float) -> list[Face]:
        return [f for f in self.faces if start <= f.t <= end]


def face_at(faces: list[Face], t: float) -> tuple[float, float, float, Face]:
    """(x, y, dx) of a track's face (its samples, in time order) at time t, linear between samples (held
    beyond them), and its nearest sample."""
    ts = [f.t for f in faces]
    j = int(np.searchsorted(ts, t))
    if j <= 0 or j >= len(faces):
        f = faces[0] if j <= 0 else faces[-1]
        return f.x, f.y, f.dx, f
    a, b = faces[j - 1], faces[j]
    w = (t - a.t) / max(1e-6, b.t - a.t)
    return a.x + w * (b.x - a.x), a.y + w * (b.y - a.y), a.dx + w * (b.dx - a.dx), a if w < 0.5 else b


def luma_map(media: ClipMedia) -> tuple[float, float]:
    """(gain, offset) taking the media's luma to the full-range grey of its frames (a source's own luma
    plane is often limited range, 16-235), fitted on the middle frame."""
    frames, luma = media.frames, media.luma
    if not len(frames):
        return 1.0, 0.0
    k = len(frames) // 2
    grey = cv2.cvtColor(frames[k], cv2.COLOR_RGB2GRAY).astype(np.float64).ravel()
    small = cv2.resize(luma[k], (frames.shape[2], frames.shape[1]), interpolation=cv2.INTER_AREA).astype(np.float64).ravel()
    if small.std() < 1.0:
        return 1.0, 0.0
    gain, offset = np.polyfit(small, grey, 1)
    return float(gain), float(offset)


def luma_lut(media: ClipMedia) -> np.ndarray:
    """`luma_map` as a 256-entry lookup table (once per clip): `Picture(frame, cv2.LUT(luma, lut))`."""

    def compute(m: ClipMedia) -> np.ndarray:
        gain, offset = luma_map(m)
        return np.clip(np.arange(256) * gain + offset, 0, 255).astype(np.uint8)

    return media.feature("faces:luma_lut", compute)


def link(found: list[list[Face]]) -> list[Track]:
    """Faces of successive sampled frames linked into tracks by position (within `LINK_DX` pupil separations)
    and size (a gap of up to 1 s)."""
    tracks: list[Track] = []
    for faces in found:
        for face in faces:
            best, bd = None, None
            for tr in tracks:
                last = tr.faces[-1]
                if face.t - last.t > 1.0:
                    continue
                dist = math.hypot(face.x - last.x, face.y - last.y)
                if dist < LINK_DX * max(face.dx, last.dx) and 0.6 < face.dx / last.dx < 1.6 and (bd is None or dist < bd):
                    best, bd = tr, dist
            if best is None:
                best = Track()
                tracks.append(best)
            best.faces.append(face)
    return tracks


def _crop(m_frame: np.ndarray, luma: np.ndarray, lut: np.ndarray, g: Face, left: float, right: float, up: float,
          down: float, scale: float) -> tuple[Picture, int, int] | None:
    """A Picture of the region around face g (luma pixels; sides in units of g.dx), aligned to 8 luma pixels so
    that its reduced sizes match the whole picture's, its luma mapped to full range; with its offset."""
    h, w = luma.shape
    x0, x1 = max(0, int(g.x - left * g.dx) // 8 * 8), min(w, -(-int(g.x + right * g.dx) // 8) * 8)
    y0, y1 = max(0, int(g.y - up * g.dx) // 8 * 8), min(h, -(-int(g.y + down * g.dx) // 8) * 8)
    if x1 - x0 < 16 or y1 - y0 < 16:
        return None
    f = scale
    pic = Picture(m_frame[int(y0 / f): math.ceil(y1 / f), int(x0 / f): math.ceil(x1 / f)], cv2.LUT(luma[y0:y1, x0:x1], lut))
    return pic, x0, y0


def _follow(frame: np.ndarray, luma: np.ndarray, lut: np.ndarray, g: Face, t: float, scale: float, fallback: bool) -> Face | None:
    """Face g of an earlier sampled frame (luma pixels) found again: its pupils looked for where they were
    (`relocate`), else (with `fallback`) a search of the crop 1.6 dx around it (a breathing bob or a slow pan
    moves a face far less in 0.32 s)."""
    # the region `relocate` reads: the pupils, the cheek and mouth boxes, the head's edges 2.5 dx aside
    got = _crop(frame, luma, lut, g, 2.6, 2.6, 1.0, 1.6, scale)
    if got is not None:
        pic, x0, y0 = got
        c = relocate(pic, Face(g.t, g.x - x0, g.y - y0, g.dx), t)
        if c is not None:
            return Face(t, c.x + x0, c.y + y0, c.dx, c.turn, c.look, c.mouth)
    got = _crop(frame, luma, lut, g, 1.6, 1.6, 1.6, 1.6, scale) if fallback else None
    if got is None:
        return None
    pic, x0, y0 = got
    found = [c for c in find_faces(pic, t) if 0.7 < c.dx / g.dx < 1.4 and math.hypot(c.x + x0 - g.x, c.y + y0 - g.y) < LINK_DX * g.dx]
    if not found:
        return None
    c = found[0]
    return Face(t, c.x + x0, c.y + y0, c.dx, c.turn, c.look, c.mouth)


def face_tracks(media: ClipMedia) -> list[Track]:
    """Faces on every `STRIDE_S` seconds' frame, linked into tracks by position (cached per clip).

    The whole picture is searched at the first sampled frame of each shot (`features.shot_spans`),
    then every `SEARCH_EVERY`-th sampled frame while faces are followed and every `EMPTY_EVERY`-th
    while none is; in between, each face of the previous sampled frame is found again where it was
    (`_follow`), and one that is not (a blink, a turn away) is looked for at its last place for
    `MISSES` more sampled frames (decision 134).
    """

    def compute(m: ClipMedia) -> list[Track]:
        step = max(1, round(STRIDE_S * m.fps))
        frames, times = m.frames, m.frame_times
        if not len(frames):
            return []
        lut = luma_lut(m)
        scale = m.luma.shape[2] / frames.shape[2]
        shots = shot_spans(m)
        cuts = [sp.start for sp in shots]
        picks = set(range(0, len(frames), step))
        for sp in shots:
            inside = np.nonzero((times > sp.start + 0.2) & (times < sp.end - 0.2))[0]
            if len(inside) and sum(1 for k in inside if k in picks) < MIN_SHOT_SAMPLES:
                picks.update(inside[np.linspace(0, len(inside) - 1, min(len(inside), MIN_SHOT_SAMPLES)).round().astype(int)].tolist())
        found: list[list[Face]] = []
        followed: list[tuple[Face, int]] = []  # (last sighting, samples missed since)
        since, last_t = 0, -1.0
        for k in sorted(picks):
            t = float(times[k])
            cut = last_t < 0 or any(last_t < c <= t for c in cuts)
            since += 1
            if cut or since >= (SEARCH_EVERY if followed else EMPTY_EVERY):
                faces = find_faces(Picture(frames[k], cv2.LUT(m.luma[k], lut)), t)
                since = 0
                kept = [] if cut else [(g, n) for g, n in followed
                                       if not any(math.hypot(f.x - g.x, f.y - g.y) < LINK_DX * g.dx for f in faces)]
                missed = [(g, n + 1) for g, n in kept]
            else:
                faces, missed = [], []
                for g, n in followed:
                    f = _follow(frames[k], m.luma[k], lut, g, t, scale, n == 0)
                    if f is not None:
                        faces.append(f)
                    else:
                        missed.append((g, n + 1))
            followed = [(f, 0) for f in faces] + [(g, n) for g, n in missed if n <= MISSES]
            last_t = t
            found.append(faces)
        return link([[Face(g.t, g.x / scale, g.y / scale, g.dx / scale, g.turn, g.look, g.mouth) for g in fs] for fs in found])

    return media.feature("faces:tracks", compute)
