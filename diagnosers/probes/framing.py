"""Framing against the script: how big the faces are in each shot, and where a single puts its character.

A script's shot size says how much of a person the frame holds, so it says how large their face is: a wide
shows whole figures with faces a few pupil-widths across, a close-up fills the frame with one face. A shot
framed far from its scripted size breaks the coverage the script plans (a close-up where a wide is
scripted, or the reverse: shot progression). A single exists to show one character; one pushed against
the frame's edge, the rest of the frame empty set, leads the eye nowhere (attention guidance).

Both read the face tracks (`face_tracking.face_tracks`) inside each scripted shot's span as the detected
cuts give it (`staging.scripted_shot_spans`), 0.2 s clear of its ends: at each sampled time the face whose
size is nearest the scripted size's usual one, and over the shot the median of its pupil separation and of
its position, in frame widths.
"""

from __future__ import annotations

import math

import numpy as np

from diagnosers.media import ClipMedia
from diagnosers.probes.base import ModeScore, probe
from diagnosers.probes.face_tracking import face_tracks
from diagnosers.probes.features import shot_spans
from diagnosers.probes.staging import scripted_shot_spans
from scenes.vocabulary import Movement, ShotSize

PROGRESSION = "ig.shot_progression_issues"
ATTENTION = "ic.attention_guidance_failure"
EDGE_S = 0.2      # seconds left out at each end of a shot
MIN_SAMPLES = 2   # sampled times with a face a shot needs to be read
# Singles whose placement is read: held still or hand-held (a pan carries the face across), and neither a
# close-up (its face fills a third of the frame: a lean moves it 0.25 off centre) nor an extreme wide (no
# face is found at a few pixels).
PLACED_SIZES = (ShotSize.wide, ShotSize.full, ShotSize.medium, ShotSize.medium_close_up)
# The front face's pupil separation (frame widths) at each scripted size: the median of the shots' readings
# (`shot_framings`) on the clean fitting clips (procedural:clean, seeds 3000-3001; decision 222). Neighbouring
# sizes are 1.4-2× apart; 90 % of clean shots read within 0.9-1.25× of their size's (medium close-ups to 1.56×). No
# face is found in an extreme wide (a few pixels): its entry is the wide's scaled by the figure heights
# the two sizes frame (0.26 / 0.56 of the frame).
FACE_SPAN: dict[ShotSize, float] = {
    ShotSize.extreme_wide: 0.0094,
    ShotSize.wide: 0.0203,
    ShotSize.full: 0.0281,
    ShotSize.medium: 0.0548,
    ShotSize.medium_close_up: 0.0772,
    ShotSize.close_up: 0.1188,
    ShotSize.extreme_close_up: 0.1828,
}


def framed_faces(media: ClipMedia, span: tuple[float, float], expected: float) -> list[tuple[float, float]]:
    """(pupil separation, x), both in frame widths, at each sampled time inside `span`, of the face whose size is
    nearest `expected` (a stray face found in the set, or a second figure, does not count against the shot)."""
    width = float(media.size[0])
    best: dict[float, tuple[float, float]] = {}
    for track in face_tracks(media):
        for f in track.between(span[0] + EDGE_S, span[1] - EDGE_S):
            size = f.dx / width
            if f.t not in best or abs(math.log(size / expected)) < abs(math.log(best[f.t][0] / expected)):
                best[f.t] = (size, f.x / width)
    return list(best.values())


def shot_framings(media: ClipMedia) -> list[dict | None]:
    """Per scripted shot: its span, the median size and x of its faces nearest the scripted size
    (`framed_faces`), their errors, and how many samples read them (None: no span, or fewer than
    `MIN_SAMPLES` sampled times with a face)."""

    def compute(m: ClipMedia) -> list[dict | None]:
        out: list[dict | None] = []
        for shot, span in zip(m.scene.shots, scripted_shot_spans(m)):
            faces = framed_faces(m, span, FACE_SPAN[shot.size]) if span is not None else []
            if len(faces) < MIN_SAMPLES:
                out.append(None)
                continue
            size, x = np.median(np.asarray(faces), axis=0)
            out.append({"span": span, "face_span": float(size), "x": float(x), "samples": len(faces),
                        "size_error": abs(math.log(float(size) / FACE_SPAN[shot.size])), "off_centre": abs(float(x) - 0.5)})
        return out

    return media.feature("framing:shots", compute)


@probe("framing", (PROGRESSION, ATTENTION))
def framing(media: ClipMedia) -> list[ModeScore]:
    """Shot sizes and a single's framing, from the faces in each scripted shot (`shot_framings`).

    - shot progression: per shot, |log(the face's pupil separation / the scripted size's usual one)|
      (`FACE_SPAN`): 0 = framed as scripted, 0.69 = faces twice or half the size. Score: the largest.
    - attention guidance: per single (a shot of one character; `PLACED_SIZES`, held still or hand-held), how
      far its face sits from the frame's centre, in frame widths (a single sits about 0.1 off centre on its
      character's side; 0.5 = on the edge). Score: the largest.
    Windows: each shot read, with its value. A shot without a face read says nothing; no shot read: no score.
    """
    shots = shot_framings(media)
    scene = media.scene
    sizes = [(s["span"], s["size_error"]) for s in shots if s is not None]
    singles = [(s["span"], s["off_centre"]) for shot, s in zip(scene.shots, shots) if s is not None and len(shot.subjects) == 1
               and shot.size in PLACED_SIZES and shot.movement in (Movement.static, Movement.handheld)]
    detail = {"detected_shots": len(shot_spans(media)), "scripted_shots": len(scene.shots),
              "face_span": [None if s is None else round(s["face_span"], 4) for s in shots]}
    return [
        ModeScore(PROGRESSION, max((v for _, v in sizes), default=None), windows=[(a, b, v) for (a, b), v in sizes], detail=detail),
        ModeScore(ATTENTION, max((v for _, v in singles), default=None), windows=[(a, b, v) for (a, b), v in singles]),
    ]
