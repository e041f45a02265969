"""Staging probes: who stands on which side of the frame across cuts (the 180-degree rule)."""

from __future__ import annotations

import numpy as np

from diagnosers.media import ClipMedia
from diagnosers.probes.base import ModeScore, probe
from diagnosers.probes.faces import Face, Track, face_tracks, line_windows, stage_order
from diagnosers.probes.features import shot_spans
from scenes.vocabulary import Delivery

# A single's face sits about 0.11 frame widths off centre on its character's side (clean fitting
# singles, sparse seeds 0-2: 3 of 150+ close-ups and 1 of 80 mediums on the wrong side; the rest
# are leaning faces near the centre). The side is the offset in units of 0.05 (16 px at 320),
# clipped at 1. Clipping at 2.5 instead (a face framed fully on the wrong side outweighing one
# leaning across) lowered the AUC on seeds 0-5 from 0.78 to 0.77.
SINGLE_OFFSET = 0.05
SINGLE_CLIP = 1.0
# Two faces side by side: the speaker's is the one whose mouth opening varies most during the line.
# That pick is wrong for about a quarter of clean two-shot lines (32 of 133 on seeds 0-2) against 1-7 %
# for singles and over-the-shoulder shots, so it weighs 0.1 (AUC 0.81 vs 0.80 with 0 or 0.30 vs 1.0).
TWO_SHOT_WEIGHT = 0.1
MIN_PUPILS_PX = 10.0  # faces whose pupils are closer than this (wide shots) show no usable mouth


def _steady(tracks: list[Track], start: float, end: float) -> list[list[Face]]:
    """Faces seen in [start, end], per track, keeping tracks seen at least half as often as the most seen."""
    present = [tr.between(start, end) for tr in tracks]
    most = max((len(fs) for fs in present), default=0)
    return [fs for fs in present if len(fs) >= max(2, 0.5 * most)]


def _median_x(faces: list[Face]) -> float:
    return float(np.median([f.x for f in faces]))


def side_observations(media: ClipMedia) -> list[tuple[str, int, float, float, list[str] | None]]:
    """Screen sides seen per scripted shot: (character, shot, side -1..1, weight, relative to whom).

    - a single (one subject) or an over-the-shoulder shot (the front subject, the speaker of its
      first line, is the one facing us): the most seen face's offset from the frame centre, in
      units of `SINGLE_OFFSET`, clipped to ±`SINGLE_CLIP`; `None` = relative to the frame centre, else to the
      subjects seen from behind;
    - a shot of several subjects: per line, the speaker's face (mouth opening varying most) left
      (-1) or right (+1) of the other faces, weighted by how clearly it varies most × `TWO_SHOT_WEIGHT`;
      with two subjects, the partner gets the opposite side.
    Shots are the detected shots when there are as many as the script has, else from each shot's
    first line window to its last (`faces.line_windows`).
    """
    scene = media.scene
    width = media.size[0]
    tracks = face_tracks(media)
    wins = line_windows(media)
    detected = shot_spans(media)
    if len(detected) == len(scene.shots):
        spans: list[tuple[float, float] | None] = [(sp.start, sp.end) for sp in detected]
    else:
        spans = []
        for shot in scene.shots:
            w = [wins[i] for i in shot.lines if i in wins]
            spans.append((min(a for a, _ in w) - 0.2, max(b for _, b in w) + 0.2) if w else None)
    obs = []
    for k, shot in enumerate(scene.shots):
        span = spans[k]
        if span is None:
            continue
        subjects = list(shot.subjects)
        over = shot.angle.value == "over_shoulder" and len(subjects) >= 2
        if len(subjects) == 1 or over:
            who, rel = subjects[0], None
            if over:
                first = scene.lines[shot.lines[0]].speaker if shot.lines and shot.lines[0] < len(scene.lines) else None
                who = first if first in subjects else subjects[0]
                rel = [c for c in subjects if c != who]
            present = sorted(_steady(tracks, span[0] + 0.2, span[1] - 0.2), key=len, reverse=True)
            if present and len(present[0]) >= 2 * (len(present[1]) if len(present) > 1 else 0):
                x = _median_x(present[0]) / width - 0.5
                obs.append((who, k, float(np.clip(x / SINGLE_OFFSET, -SINGLE_CLIP, SINGLE_CLIP)), 1.0, rel))
            continue
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
            side = float(np.sign(xs[j] - np.mean([x for n, x in enumerate(xs) if n != j])))
            top = sorted(activity)
            clarity = (top[-1] - top[-2]) / (top[-1] + 1e-6)
            others = [c for c in subjects if c != line.speaker]
            obs.append((line.speaker, k, side, TWO_SHOT_WEIGHT * clarity, others))
            if len(subjects) == 2 and len(present) == 2:
                obs.append((others[0], k, -side, TWO_SHOT_WEIGHT * clarity, [line.speaker]))
    return obs


@probe("staging", ("ig.180_degree_rule_violation",))
def staging(media: ClipMedia) -> list[ModeScore]:
    """Who stands where across shots, against the script's staging (decision 106).

    - 180-degree rule: the characters' screen sides seen per shot (`side_observations`: a
      single's or over-the-shoulder front face off centre; in shots of several, the talking face
      left or right of the others) against the side the script's staging gives them: characters
      left to right in the order the shots first name them (`faces.stage_order`, decision 099),
      relative to the frame centre for a single and to the other subjects otherwise. Per shot,
      Σ weight × (−agreement); the clip's score is the largest over shots (a mirrored shot puts
      every character seen in it on the wrong side), 0 when no side is seen, None for one shot.
    """
    scene = media.scene
    if len(scene.shots) < 2 and len(shot_spans(media)) < 2:
        return [ModeScore("ig.180_degree_rule_violation", None)]
    order = stage_order(scene)
    n = len(order)
    place = {c: (i - (n - 1) / 2) / max(1, n - 1) for i, c in enumerate(order)}  # -0.5 left .. 0.5 right
    per_shot: dict[int, float] = {}
    for who, k, side, weight, rel in side_observations(media):
        ref = place.get(who, 0.0) - (np.mean([place.get(o, 0.0) for o in rel]) if rel else 0.0)
        if ref != 0:
            per_shot[k] = per_shot.get(k, 0.0) - weight * side * float(np.sign(ref))
    if not per_shot:
        return [ModeScore("ig.180_degree_rule_violation", 0.0)]
    k = max(per_shot, key=per_shot.get)
    score = max(0.0, per_shot[k])
    detected = shot_spans(media)
    windows = []
    if score > 0 and len(detected) == len(scene.shots):
        windows = [(detected[k].start, detected[k].end, score)]
    elif score > 0:
        wins = line_windows(media)
        w = [wins[i] for i in scene.shots[k].lines if i in wins]
        windows = [(min(a for a, _ in w), max(b for _, b in w), score)] if w else []
    return [ModeScore("ig.180_degree_rule_violation", score, windows=windows)]
