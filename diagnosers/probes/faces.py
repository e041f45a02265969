"""Expression and eyeline per line from the speaker's face track (faces: `face_tracking`, decision 099)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from diagnosers.media import ClipMedia
from diagnosers.probes.align import align_lines, planned_durations
from diagnosers.probes.base import ModeScore, probe
from diagnosers.probes.face_tracking import (  # noqa: F401  (STRIDE_S, detect_faces: re-exported for callers)
    CURVE_GAIN,
    FULL_FACE_DX,
    RESTING_CURVE,
    STRIDE_S,
    Face,
    Track,
    detect_faces,
    face_tracks,
)
from diagnosers.probes.features import shot_spans
from scenes.vocabulary import EMOTION_AFFECT, Delivery


def stage_order(scene) -> list[str]:
    """Characters left to right as the script first names them in shot subjects (the staging convention)."""
    order: list[str] = []
    for shot in scene.shots:
        for c in shot.subjects:
            if c not in order:
                order.append(c)
    return order + [c.id for c in scene.characters if c.id not in order]


@dataclass
class LineFace:
    """The speaker's face during one line."""

    n: int                  # face observations of the speaker in the line
    valence: float | None   # median mouth curve of the least open frames
    turn: float | None      # median head/eye turn, + = toward screen right
    toward: float           # side of the addressee (+1 right, -1 left, 0 unknown)
    dx: float = 0.0         # pupil separation in pixels (face size)
    side_from: str = ""     # where `toward` came from: "face" in frame, "framing", "stage" order
    look: float | None = None  # median pupil offset in the eye whites, + = toward screen right


def line_faces(media: ClipMedia) -> dict[int, LineFace]:
    """Per aligned on-screen line: the speaker's face (the track whose mouth opening varies most)."""

    def compute(m: ClipMedia) -> dict[int, LineFace]:
        return speaker_faces(m.scene, face_tracks(m), line_windows(m), m.size[0])

    return media.feature("faces:lines", compute)


def line_windows(media: ClipMedia) -> dict[int, tuple[float, float]]:
    """When each line is on screen: its aligned speech span, kept inside its scripted shot's detected span."""

    def compute(m: ClipMedia) -> dict[int, tuple[float, float]]:
        spans = {ls.index: (ls.span.start, ls.span.end) for ls in align_lines(m) if ls.span is not None}
        shots = [(sp.start, sp.end) for sp in shot_spans(m)]
        return shot_windows(m.scene, spans, shots, planned_durations(m))

    return media.feature("faces:windows", compute)


def shot_windows(scene, spans: dict[int, tuple[float, float]], shots: list[tuple[float, float]],
                 planned: list[float]) -> dict[int, tuple[float, float]]:
    """Line windows from speech spans and detected shots (decision 099).

    The speech aligner misplaces some lines (a dropped or glued line shifts its neighbours), while
    the cuts between shots are sharp. When the clip has as many detected shots as the script, a
    line's window is its speech span if at least half of it lies in the line's scripted shot,
    else the share of that shot's span that its lines' planned durations give it.
    """
    if len(shots) != len(scene.shots):
        return dict(spans)
    out: dict[int, tuple[float, float]] = {}
    for k, shot in enumerate(scene.shots):
        a, b = shots[k]
        own = [i for i in shot.lines if 0 <= i < len(scene.lines)]
        total = sum(planned[i] for i in own) or 1.0
        t = a
        for i in own:
            share = (b - a) * planned[i] / total
            guess = (t, t + share)
            t += share
            sp = spans.get(i)
            if sp is not None and sp[1] > sp[0]:
                inside = max(0.0, min(sp[1], b) - max(sp[0], a))
                if inside >= 0.5 * (sp[1] - sp[0]):
                    out[i] = (max(sp[0], a), min(sp[1], b))
                    continue
            out[i] = guess
    return out


def _speaker_track(scene, i: int, present: list[tuple[Track, list[Face]]], order: dict[str, int]) -> int:
    """Which of the faces on screen during line i is the speaker's.

    When as many faces are found as the line's scripted shot shows facing the camera (an over-the-
    shoulder shot shows one; -1 when the speaker is the one seen from behind), they are matched to the subjects in the script's left-to-right stage
    order; otherwise the face whose mouth opening varies most (the one talking).
    """
    speaker = scene.lines[i].speaker
    try:
        shot = scene.shots[scene.shot_of_line(i)]
    except KeyError:
        shot = None
    if shot is not None and speaker in shot.subjects:
        facing = sorted(shot.subjects, key=lambda c: order.get(c, 99))
        if shot.angle.value == "over_shoulder" and len(facing) >= 2:
            first = scene.lines[shot.lines[0]].speaker if shot.lines else None
            front = first if first in shot.subjects else shot.subjects[0]
            if front != speaker:
                return -1  # the speaker is the one seen from behind
            facing = [speaker]
        if len(facing) == len(present):
            by_x = sorted(range(len(present)), key=lambda j: float(np.median([f.x for f in present[j][1]])))
            return by_x[facing.index(speaker)]
    activity = [float(np.std([f.mouth for f in fs])) + 0.01 * len(fs) for _, fs in present]
    return int(np.argmax(activity))


def speaker_faces(scene, tracks: list[Track], spans: dict[int, tuple[float, float]], width: int) -> dict[int, LineFace]:
    """The speaker's face per line from face tracks and line spans (seconds)."""
    W = width
    order = {c: k for k, c in enumerate(stage_order(scene))}
    out: dict[int, LineFace] = {}
    for i, (s, e) in spans.items():
        line = scene.lines[i]
        if line.delivery is Delivery.voice_over:
            continue
        present = [(tr, tr.between(s, e)) for tr in tracks]
        most = max((len(fs) for _, fs in present), default=0)
        # steady faces only: a pattern that passes for a face now and then is not followed
        present = [(tr, fs) for tr, fs in present if len(fs) >= max(2, 0.5 * most)]
        if not present:
            continue
        k = _speaker_track(scene, i, present, order)
        if k < 0:
            continue
        _tr, fs = present[k]
        size = float(np.median([f.dx for f in fs]))
        fs = [f for f in fs if 0.8 < f.dx / size < 1.25]  # one face keeps its size within a shot
        x = float(np.median([f.x for f in fs]))
        mouths = np.array([f.mouth for f in fs])
        calm = [f for f in fs if f.mouth <= np.percentile(mouths, 33)]  # the most closed mouths
        curves = [f.curve for f in calm if f.curve is not None]
        turns = [f.turn for f in fs if f.turn is not None]
        looks = [f.look for f in fs if f.look is not None]
        toward, side_from = 0.0, ""
        addressee = line.addressee
        if addressee and addressee in order and line.speaker in order:
            rank = float(np.sign(order[addressee] - order[line.speaker]))
            others = [float(np.median([f.x for f in ofs])) - x for j, (_, ofs) in enumerate(present) if j != k]
            others = [o for o in others if abs(o) > 2 * np.median([f.dx for f in fs])]  # faces can't overlap
            try:
                subjects = scene.shots[scene.shot_of_line(i)].subjects
            except KeyError:
                subjects = []
            if addressee not in subjects:
                toward, side_from = rank, "stage"  # off screen: where the staging put them (the script's order)
            elif others and (all(o > 0 for o in others) or all(o < 0 for o in others)):
                toward, side_from = float(np.sign(others[0])), "face"
            elif abs(x / W - 0.5) > 0.06:
                # framed off-centre on their own side, partner opposite
                toward, side_from = -float(np.sign(x / W - 0.5)), "framing"
            else:
                toward, side_from = rank, "stage"
        out[i] = LineFace(len(fs), float(np.median(curves)) if curves else None,
                          float(np.median(turns)) if len(turns) >= max(2, 0.3 * len(fs)) else None, toward, size, side_from,
                          float(np.median(looks)) if len(looks) >= max(2, 0.3 * len(fs)) else None)
    return out


EXPRESSION = "ep.facial_expression_inconsistency"
# The face and voice scores on one scale for the multimodal mode (decision 100): each minus its
# median, over its 95th percentile minus its median, on the lines of 44 clean fitting clips
# (procedural:clean seed 2000): face -0.16 and 0.41, voice (`delivery` probe) -1.7 and 4.26.
FACE_CENTRE, FACE_SCALE = -0.16, 0.41
VOICE_CENTRE, VOICE_SCALE = -1.7, 4.26
MULTIMODAL = "ep.multimodal_expressive_inconsistency"
EYELINE = "ip.interaction_eyeline_failure"


def _vocal_flatness(media: ClipMedia) -> dict[int, float]:
    """The `delivery` probe's per-line vocal flatness (ep.vocal_emotional_delivery_failure), read only."""
    from diagnosers.probes.voice import delivery

    for score in delivery.measure(media):
        if score.mode == "ep.vocal_emotional_delivery_failure":
            return dict(score.lines)
    return {}


@probe("faces", (EXPRESSION, MULTIMODAL, EYELINE))
def faces(media: ClipMedia) -> list[ModeScore]:
    """The speaker's face per line (eye-pair face finder, decision 099) against the script.

    - facial expression inconsistency: the mouth curve (smile +, frown -) of the speaker's least
      open frames, minus the speaker's resting curve (their other lines), against the sign of the
      line's scripted valence (EMOTION_AFFECT), weighted by how clearly the emotion is valenced
      and by face size: -sign(v) * min(1, |v| / 0.3) * (curve - rest) * min(1, dx / 16);
    - eyeline failure: the speaker's head turn and pupil offset (mean of the two) against the side
      where the addressee stands (another face in frame, else the frame side opposite the
      speaker, else the script's stage order): -side * gaze (positive: looks away from the person
      addressed);
    - multimodal expressive inconsistency: the larger of the face score and the vocal flatness
      score of the `delivery` probe, each in units of its spread on clean clips (decision 100).
    """
    scene = media.scene
    lf = line_faces(media)
    spans = line_windows(media)
    expr, eye = {}, {}
    for i, f in lf.items():
        v = EMOTION_AFFECT[scene.lines[i].emotion][0]
        if f.valence is not None:
            # the speaker's own resting curve (a moustache or a beard shifts it): their other lines,
            # less what their scripted valence should add
            own = [g.valence - CURVE_GAIN * EMOTION_AFFECT[scene.lines[j].emotion][0] for j, g in lf.items()
                   if j != i and g.valence is not None and scene.lines[j].speaker == scene.lines[i].speaker]
            rest = float(np.median(own)) if own else RESTING_CURVE
            sure = min(1.0, f.dx / FULL_FACE_DX)
            expr[i] = -math.copysign(1.0, v) * min(1.0, abs(v) / 0.3) * (f.valence - rest) * sure if v else 0.0
        gaze = [g for g in (f.turn, f.look) if g is not None]
        if gaze and f.toward and scene.lines[i].addressee:
            eye[i] = -f.toward * float(np.mean(gaze))
    vocal = _vocal_flatness(media)
    multi = {}
    for i in set(expr) | set(vocal):
        parts = [(expr[i] - FACE_CENTRE) / FACE_SCALE] if i in expr else []
        parts += [(vocal[i] - VOICE_CENTRE) / VOICE_SCALE] if i in vocal else []
        if scene.lines[i].delivery is not Delivery.voice_over:
            multi[i] = max(parts)
    out = []
    for mode, d in ((EXPRESSION, expr), (EYELINE, eye), (MULTIMODAL, multi)):
        windows = [(spans[i][0], spans[i][1], sc) for i, sc in d.items() if i in spans]
        out.append(ModeScore(mode, max(d.values()) if d else None, d, windows))
    return out
