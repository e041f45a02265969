"""A listener's moving lips: how often the mouths of the faces in a line's shot change, frame by frame (decision 216).

The faces are the eye-pair tracks (`face_tracking`, sampled every 0.32 s); their mouths are read on every
frame of the line's window (`faces.line_windows`). The most active mouth is taken as the speaker's; a
second mouth that changes as often during the line is a listener whose lips move with it. Decision 098 says
what failed before the face finder (block motion and correlations without faces).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from diagnosers.media import ClipMedia
from diagnosers.probes.base import ModeScore, probe
from diagnosers.probes.face_finder import Face, Picture, measure_face
from diagnosers.probes.face_tracking import face_at, face_tracks, luma_lut
from diagnosers.probes.faces import line_windows
from diagnosers.probes.features import shot_spans

MODE = "sf.non_speaker_lip_motion"
# A face counts in a shot when sampled at least twice and in this share of the most-sampled face's samples
# (a pattern that passes for a face now and then is not a listener; decision 216: 0 / 0.1 / 0.2 / 0.3 / 0.5
# scored cross-validated BA 0.81 / 0.80 / 0.82 / 0.80 / 0.75; 0.3 left 3 more fitting listeners unread).
STEADY = 0.2
# A "face" within SAME_X pupil separations across and BELOW under another is the body under it (a pattern on
# the clothes); a second track on the same face is dropped the same way.
SAME_X, BELOW = 1.0, 4.0
# Frames further than NEAR_S from a sample of the face are not read (the face may have turned or gone;
# decision 216: 0.35 / 1 / 2 / 9 s scored scene-grouped cross-validated BA 0.75 / 0.77 / 0.80 / 0.80).
NEAR_S = 2.0
# Between samples the face is placed by linear interpolation, then its eye band (1 dx each side of the pupils'
# mid-point, 0.35 dx up and down) is searched for within REGISTER dx: a pan or a step moves it between samples.
REGISTER = 0.3
# A change of the mouth opening (`face_finder`: share of the mouth box far from the skin) between frames
# larger than this counts as movement: a talking mouth jumps 0.1-0.6 between syllables, a still mouth
# varies by less except in wide shots (decision 216: 0.05 / 0.1 / 0.15 cross-validated BA 0.76 / 0.80 / 0.71).
CHANGE = 0.1
MIN_FRAMES = 4


def _eye_band(luma: np.ndarray, x: float, y: float, d: float) -> np.ndarray | None:
    h, w = luma.shape
    x0, x1, y0, y1 = round(x - d), round(x + d), round(y - 0.35 * d), round(y + 0.35 * d)
    if x0 < 0 or y0 < 0 or x1 > w or y1 > h or x1 - x0 < 4 or y1 - y0 < 3:
        return None
    return luma[y0:y1, x0:x1]


def _shift(luma: np.ndarray, band: np.ndarray, x: float, y: float, r: int) -> tuple[int, int]:
    """Where the eye band `band` matches best within r pixels of being centred on (x, y): (dx, dy)."""
    h, w = luma.shape
    th, tw = band.shape
    x0, y0 = round(x - tw / 2), round(y - th / 2)
    if x0 - r < 0 or y0 - r < 0 or x0 + tw + r > w or y0 + th + r > h:
        return 0, 0
    res = cv2.matchTemplate(luma[y0 - r: y0 + th + r, x0 - r: x0 + tw + r], band, cv2.TM_SQDIFF)
    py, px = np.unravel_index(int(np.argmin(res)), res.shape)
    return int(px) - r, int(py) - r


def mouth_openings(pictures, times: np.ndarray, frames: list[int], faces: list[Face], scale: float) -> np.ndarray:
    """The face's mouth opening on each frame (NaN where not read): placed between samples (`face_tracking.face_at`), moved
    to where its eye band is (`_shift`), measured as the face finder measures a found face.

    `pictures(k, top, bottom)` gives frame k's Picture with its luma good at least in rows [top, bottom)
    (luma pixels); positions of `faces` are in frame pixels, `scale` luma/frame."""
    out = np.full(len(frames), np.nan)
    bands: dict[int, np.ndarray | None] = {}
    for n, k in enumerate(frames):
        t = float(times[k])
        x, y, d, near = face_at(faces, t)
        if abs(near.t - t) > NEAR_S:
            continue
        X, Y, D = x * scale, y * scale, d * scale
        # rows read: the eye band searched REGISTER dx up and down, the face measured to 1.3 dx under its eyes
        reach = max(D, near.dx * scale)
        pic = pictures(k, Y - 1.5 * reach - 8, Y + 2.5 * reach + 8)
        kn = int(np.argmin(np.abs(times - near.t)))
        if kn != k:
            if id(near) not in bands:
                yn, dn = near.y * scale, near.dx * scale
                bands[id(near)] = _eye_band(pictures(kn, yn - dn - 8, yn + dn + 8).luma, near.x * scale, yn, dn)
            band = bands[id(near)]
            if band is not None:
                sx, sy = _shift(pic.luma, band, X, Y, max(1, round(REGISTER * D)))
                X, Y = X + sx, Y + sy
        face = measure_face(pic, Face(t, X, Y, D))
        if face.mouth is not None:
            out[n] = face.mouth
    return out


def mouth_activity(openings: np.ndarray) -> float | None:
    """Share of successive read frames whose mouth opening changes by more than CHANGE (None: too few)."""
    v = openings[~np.isnan(openings)]
    if len(v) < MIN_FRAMES:
        return None
    return float((np.abs(np.diff(v)) > CHANGE).mean())


def shot_faces(tracks, start: float, end: float) -> list[list[Face]]:
    """The steady faces of a shot (each a track's samples inside it), one per person, upper faces first."""
    inside = [[f for f in tr.faces if start <= f.t <= end] for tr in tracks]
    most = max((len(fs) for fs in inside), default=0)
    steady = [fs for fs in inside if len(fs) >= max(2, STEADY * most)]
    med = [(float(np.median([f.x for f in fs])), float(np.median([f.y for f in fs])), float(np.median([f.dx for f in fs])))
           for fs in steady]
    kept: list[int] = []
    for j in sorted(range(len(steady)), key=lambda j: med[j][1]):
        x, y, d = med[j]
        if not any(abs(x - med[k][0]) < SAME_X * max(d, med[k][2]) and abs(y - med[k][1]) < BELOW * max(d, med[k][2])
                   for k in kept):
            kept.append(j)
    return [steady[j] for j in kept]


def listener_score(activities: list[float], lone_listener: bool) -> float | None:
    """A line's score from its faces' mouth activities: the second most active (the most active is the
    speaker's); a lone face only when it is a listener's (`lone_listener`); else None (no listener seen)."""
    if len(activities) >= 2:
        return sorted(activities)[-2]
    if len(activities) == 1 and lone_listener:
        return activities[0]
    return None


def _lone_face_listens(scene, i: int) -> bool:
    """An over-the-shoulder shot shows one face, its front subject's (the speaker of the shot's first line):
    a listener's when someone else speaks line i (the speaker is the one seen from behind)."""
    try:
        shot = scene.shots[scene.shot_of_line(i)]
    except KeyError:
        return False
    if shot.angle.value != "over_shoulder" or len(shot.subjects) < 2 or not shot.lines:
        return False
    first = scene.lines[shot.lines[0]].speaker
    front = first if first in shot.subjects else shot.subjects[0]
    return front != scene.lines[i].speaker


@probe("listeners", (MODE,))
def listeners(media: ClipMedia) -> list[ModeScore]:
    """A listener's lips moving with the line, per line (decision 216).

    The faces of the line's shot (eye-pair tracks, steady ones, one per person) have their mouth opening read
    on every frame of the line's window, placed between the tracker's samples and moved to where their eyes
    are; a mouth's activity is the share of frames whose opening changes clearly. Score: the second most
    active mouth's activity (the most active is the speaker's); with one face, its activity when it is a
    listener's (the front face of an over-the-shoulder shot while the one seen from behind speaks); no
    listener's face seen: no score.
    """
    scene = media.scene
    if scene is None or not len(media.frames):
        return [ModeScore(MODE, None)]
    tracks = face_tracks(media)
    times = media.frame_times
    lut = luma_lut(media)
    scale = media.luma.shape[2] / media.frames.shape[2]
    full_range = np.zeros_like(media.luma)  # rows mapped on demand (untouched zero pages cost nothing)
    mapped = np.zeros(media.luma.shape[:2], bool)

    def picture(k: int, top: float, bottom: float) -> Picture:
        """Frame k with its luma mapped to full range in the rows asked (and those asked before): a face
        reads a band of the frame, and mapping whole 640x360 frames cost more than reading them (decision 223)."""
        a, b = max(0, math.floor(top)), min(mapped.shape[1], math.ceil(bottom))
        if a < b and not mapped[k, a:b].all():
            full_range[k, a:b] = cv2.LUT(media.luma[k, a:b], lut)
            mapped[k, a:b] = True
        return Picture(media.frames[k], full_range[k])

    shots = [(sp.start, sp.end) for sp in shot_spans(media)]
    scores, windows = {}, []
    for i, (s, e) in sorted(line_windows(media).items()):
        mid = 0.5 * (s + e)
        a, b = next(((a, b) for a, b in shots if a <= mid <= b), (s, e))
        frames = [int(k) for k in np.nonzero((times >= s) & (times <= e))[0]]
        acts = [mouth_activity(mouth_openings(picture, times, frames, fs, scale)) for fs in shot_faces(tracks, a, b)]
        score = listener_score([x for x in acts if x is not None], _lone_face_listens(scene, i))
        if score is not None and not math.isnan(score):
            scores[i] = score
            windows.append((s, e, score))
    return [ModeScore(MODE, max(scores.values()) if scores else None, scores, windows)]
