"""Staging probes: who stands on which side of the frame across cuts (the 180-degree rule)."""

from __future__ import annotations

import numpy as np

from diagnosers.media import ClipMedia
from diagnosers.probes.base import ModeScore, probe
from diagnosers.probes.faces import Face, Track, face_tracks, line_windows, stage_order
from diagnosers.probes.features import shot_spans
from scenes.vocabulary import Delivery

# A single frames its character about 0.11 frame widths off centre on their side of the line
# (decision 106); the offset counts in units of 0.05 (16 px at 320), clipped at 1 (clipping at 2.5
# lowered the AUC, decision 106).
SINGLE_OFFSET = 0.05
SINGLE_CLIP = 1.0
# A single's gaze: the median of the face's head turn and pupil offset (`turn`, `look`, about ±0.2
# when looking aside, decision 099) in units of 0.1, clipped at 1, against the side of the person
# they look at (their lines' addressee, else the shot's speaker) in the script's staging. Per shot on
# sparse fitting seeds 0-5 (mirrored shots vs the rest): offset alone AUC 0.973, gaze alone 0.972,
# their sum 0.996 (gaze weight 0.5 / 1 / 2 / 4: 0.991 / 0.996 / 0.994 / 0.992); decision 130.
SINGLE_GAZE = 0.1
GAZE_WEIGHT = 1.0
# Two or more faces side by side: the speaker's is the one whose mouth opening varies most during
# the line. On clean two-shots that pick is the other face for 17 % of lines (mostly lines whose
# mouth fault moves another mouth), so it weighs 0.1 × its clarity (decision 106).
TWO_SHOT_WEIGHT = 0.1
# Faces whose pupils are closer than this show no usable mouth; wide shots (6-7 px apart at 320) now
# count, their mouths measured on the finer luma (decision 131; 10 before, not swept since).
MIN_PUPILS_PX = 5.0


def _steady(tracks: list[Track], start: float, end: float) -> list[list[Face]]:
    """Faces seen in [start, end], per track, keeping tracks seen at least half as often as the most seen."""
    present = [tr.between(start, end) for tr in tracks]
    most = max((len(fs) for fs in present), default=0)
    return [fs for fs in present if len(fs) >= max(2, 0.5 * most)]


def _median_x(faces: list[Face]) -> float:
    return float(np.median([f.x for f in faces]))


def _gaze(faces: list[Face]) -> float | None:
    """Median of mean(turn, look) over the faces that have either (+ = looking toward screen right)."""
    g = [float(np.mean([v for v in (f.turn, f.look) if v is not None])) for f in faces if f.turn is not None or f.look is not None]
    return float(np.median(g)) if len(g) >= 2 else None


def _looks_at(scene, shot, who: str, place: dict[str, float]) -> float:
    """Staging side (-1, 0, +1) of whom `who` looks at in a shot: their lines' addressee, else the speaker."""
    sides = []
    for i in shot.lines:
        if i >= len(scene.lines) or scene.lines[i].delivery is Delivery.voice_over:
            continue
        line = scene.lines[i]
        target = (line.addressee or next((c for c in place if c != who), None)) if line.speaker == who else line.speaker
        if target in place and target != who:
            sides.append(np.sign(place[target] - place[who]))
    return float(np.sign(np.sum(sides))) if sides else 0.0


def _shot_spans(media: ClipMedia) -> list[tuple[float, float] | None]:
    """Each scripted shot's time span: the detected shots when there are as many, else the shot's line windows."""
    scene = media.scene
    detected = shot_spans(media)
    if len(detected) == len(scene.shots):
        return [(sp.start, sp.end) for sp in detected]
    wins = line_windows(media)
    spans: list[tuple[float, float] | None] = []
    for shot in scene.shots:
        w = [wins[i] for i in shot.lines if i in wins]
        if not w:
            spans.append(None)
            continue
        a, b = min(a for a, _ in w), max(b for _, b in w)
        # kept inside the detected shot around their middle: a misplaced line must not reach into the next shot
        mid = next((sp for sp in detected if sp.start <= (a + b) / 2 < sp.end), None)
        if mid is not None:
            a, b = max(a, mid.start), min(b, mid.end)
        spans.append((a - 0.2, b + 0.2) if b > a else None)
    return spans


def side_disagreements(media: ClipMedia) -> dict[int, float]:
    """Per scripted shot: how much the faces' screen sides disagree with the script's staging (+ = mirrored).

    - a single: its face's offset from the frame centre (units of `SINGLE_OFFSET`, clipped at
      ±`SINGLE_CLIP`) against the character's side of the staging, plus `GAZE_WEIGHT` × its gaze
      (units of `SINGLE_GAZE`, clipped at ±1) against the side of whom it looks at;
    - over the shoulder (the front subject is the speaker of the shot's first line): the front
      face's offset against its side relative to the subjects seen from behind;
    - several subjects: per line, the face whose mouth opening varies most (the speaker's) left or
      right of the other faces against the speaker's side of the others, × `TWO_SHOT_WEIGHT` ×
      how clearly it varies most.
    """
    scene = media.scene
    width = media.size[0]
    tracks = face_tracks(media)
    wins = line_windows(media)
    order = stage_order(scene)
    n = len(order)
    place = {c: (i - (n - 1) / 2) / max(1, n - 1) for i, c in enumerate(order)}  # -0.5 left .. 0.5 right
    out: dict[int, float] = {}
    for k, (shot, span) in enumerate(zip(scene.shots, _shot_spans(media))):
        if span is None:
            continue
        subjects = list(shot.subjects)
        over = shot.angle.value == "over_shoulder" and len(subjects) >= 2
        if len(subjects) == 1 or over:
            who, ref = subjects[0], place.get(subjects[0], 0.0)
            if over:
                first = scene.lines[shot.lines[0]].speaker if shot.lines and shot.lines[0] < len(scene.lines) else None
                who = first if first in subjects else subjects[0]
                ref = place.get(who, 0.0) - float(np.mean([place.get(c, 0.0) for c in subjects if c != who]))
            present = sorted(_steady(tracks, span[0] + 0.2, span[1] - 0.2), key=len, reverse=True)
            if not present or len(present[0]) < 2 * (len(present[1]) if len(present) > 1 else 0):
                continue
            x = _median_x(present[0]) / width - 0.5
            score = -float(np.clip(x / SINGLE_OFFSET, -SINGLE_CLIP, SINGLE_CLIP)) * float(np.sign(ref))
            gaze = _gaze(present[0]) if not over else None
            if gaze is not None:
                score -= GAZE_WEIGHT * float(np.clip(gaze / SINGLE_GAZE, -1, 1)) * _looks_at(scene, shot, who, place)
            out[k] = score
            continue
        total = 0.0
        for i in shot.lines:
            if i >= len(scene.lines) or i not in wins:
                continue
            line = scene.lines[i]
            if line.delivery is Delivery.voice_over or line.speaker not in subjects:
                continue
            present = _steady(tracks, *wins[i])
            if len(present) < 2 or min(float(np.median([f.dx for f in fs])) for fs in present) < MIN_PUPILS_PX:
                continue
            activity = [float(np.std([f.mouth for f in fs])) for fs in present]
            j = int(np.argmax(activity))
            xs = [_median_x(fs) for fs in present]
            side = float(np.sign(xs[j] - np.mean([x for m, x in enumerate(xs) if m != j])))
            ref = place.get(line.speaker, 0.0) - float(np.mean([place.get(c, 0.0) for c in subjects if c != line.speaker]))
            top = sorted(activity)
            clarity = (top[-1] - top[-2]) / (top[-1] + 1e-6)
            total -= TWO_SHOT_WEIGHT * clarity * side * float(np.sign(ref))
        if total:
            out[k] = total
    return out


@probe("staging", ("ig.180_degree_rule_violation",))
def staging(media: ClipMedia) -> list[ModeScore]:
    """Who stands and looks where across shots, against the script's staging (decisions 106, 130).

    - 180-degree rule: per scripted shot, how much the faces' screen sides and a single's gaze
      disagree with the staging (`side_disagreements`: characters left to right in the order the
      shots first name them, `faces.stage_order`); the clip's score is the largest over shots (a
      mirrored shot puts everyone in it on the wrong side and turns a single's gaze), 0 when no
      side is seen, None for one shot.
    """
    scene = media.scene
    if len(scene.shots) < 2 and len(shot_spans(media)) < 2:
        return [ModeScore("ig.180_degree_rule_violation", None)]
    per_shot = side_disagreements(media)
    if not per_shot:
        return [ModeScore("ig.180_degree_rule_violation", 0.0)]
    k = max(per_shot, key=per_shot.get)
    score = max(0.0, per_shot[k])
    span = _shot_spans(media)[k]
    windows = [(span[0], span[1], score)] if score > 0 and span is not None else []
    return [ModeScore("ig.180_degree_rule_violation", score, windows=windows)]
