"""Staging probes: who stands on which side of the frame across cuts (the 180-degree rule)."""

from __future__ import annotations

import numpy as np

from diagnosers.media import ClipMedia
from diagnosers.probes.align import align_lines
from diagnosers.probes.base import ModeScore, probe
from diagnosers.probes.faces import Face, Track, face_tracks, line_windows, stage_order
from diagnosers.probes.features import shot_spans
from diagnosers.probes.shot_assignment import assigned_spans
from scenes.vocabulary import Delivery

# A single frames its character about 0.11 frame widths off centre on their side of the line
# (decision 106); the offset counts in units of 0.05 (16 px at 320), clipped at 1 (clipping at 2.5
# lowered the AUC, decision 106).
SINGLE_OFFSET = 0.05
SINGLE_CLIP = 1.0
# A single's gaze: per face sample, the mean of the head turn and pupil offset (`turn`, `look`, about
# ±0.2 when looking aside, decision 099) in units of 0.1, clipped at 1, against the side of whom the
# character looks at *then* (`_gaze_target`), averaged over the samples; added to the offset with
# weight 1 (decision 130: weights 0.5 / 1 / 2 / 4 gave per-shot AUC 0.991 / 0.996 / 0.994 / 0.992).
SINGLE_GAZE = 0.1
GAZE_WEIGHT = 1.0
# Two or more faces side by side: the speaker's is the one whose mouth opening varies most during
# the line. On clean two-shots that pick is the other face for 17 % of lines (mostly lines whose
# mouth fault moves another mouth), so it weighs 0.1 × its clarity (decision 106).
TWO_SHOT_WEIGHT = 0.1
# Faces whose pupils are closer than this show no usable mouth; wide shots (6-7 px apart at 320) now
# count, their mouths measured on the finer luma (decision 131; 10 before, not swept since).
MIN_PUPILS_PX = 5.0
# Who is who by their clothes (decision 211): the median Lab colour of a box under each face (2.3-4.3
# pupil separations below the eyes, ±1.1 wide: decision 206's torso box), compared with the same
# character's in the clip's singles. The difference between the two ways of matching a two-subject
# shot's faces to its characters counts in units of 40 (OpenCV 8-bit Lab), clipped at ±1, with
# weight 1 (sparse fitting seeds 0-5 + clean 3000-3001: units 20 / 40 / 80 and weights 0.5 / 1 / 2
# gave fitting balanced accuracy 0.909 / 0.917 / 0.917 and 0.917 / 0.917 / 0.907).
TORSO_BELOW = (2.3, 4.3)
TORSO_HALF_WIDTH = 1.1
COLOUR_UNIT = 40.0
COLOUR_WEIGHT = 1.0
# Colours are read on at most this many of a face's samples (a face's clothes do not change within a
# shot): reading all of them, in OpenCV's Lab, cost ~20 ms per clip on sparse seed 1; six, each box's
# median RGB turned into Lab in numpy, ~1 ms (decision 211).
TORSO_SAMPLES = 6


def _steady(tracks: list[Track], start: float, end: float) -> list[list[Face]]:
    """Faces seen in [start, end], per track, keeping tracks seen at least half as often as the most seen."""
    present = [tr.between(start, end) for tr in tracks]
    most = max((len(fs) for fs in present), default=0)
    return [fs for fs in present if len(fs) >= max(2, 0.5 * most)]


def _faces_by_place(tracks: list[Track], start: float, end: float, least: int) -> list[list[Face]]:
    """Faces seen in [start, end], tracks at the same place (within half a pupil separation) pooled as
    one face, keeping those seen at least `least` times and half as often as the most seen.

    The tracker splits one face into several tracks at a blink or a missed frame; counted apart, the
    two halves read as two faces and the single was dropped (decision 211)."""
    groups: list[tuple[float, list[Face]]] = []
    for tr in tracks:
        fs = tr.between(start, end)
        if not fs:
            continue
        x, dx = float(np.median([f.x for f in fs])), float(np.median([f.dx for f in fs]))
        group = next((g for g in groups if abs(g[0] - x) < max(4.0, 0.5 * dx)), None)
        if group is None:
            groups.append((x, list(fs)))
        else:
            group[1].extend(fs)
    most = max((len(fs) for _, fs in groups), default=0)
    return [fs for _, fs in groups if len(fs) >= max(least, 0.5 * most)]


def _median_x(faces: list[Face]) -> float:
    return float(np.median([f.x for f in faces]))


def _gaze_target(scene, who: str, place: dict[str, float], t: float, wins: dict[int, tuple[float, float]]) -> str | None:
    """Whom `who` looks at at time t: during their own line its addressee (else the first other
    character of the staging, as 130 did), during another's line its speaker, between lines the last
    speaker."""
    inside = [i for i, (a, b) in wins.items() if a - 0.2 <= t <= b and i < len(scene.lines)]
    if inside:
        line = scene.lines[inside[0]]
        if line.delivery is Delivery.voice_over:
            return None
        if line.speaker != who:
            return line.speaker
        return line.addressee or next((c for c in place if c != who), None)
    before = [i for i, (_, b) in wins.items() if b < t and i < len(scene.lines)]
    return scene.lines[max(before, key=lambda i: wins[i][1])].speaker if before else None


def _gaze_disagreement(scene, who: str, place: dict[str, float], faces: list[Face],
                       wins: dict[int, tuple[float, float]]) -> float | None:
    """Mean over the face samples of the gaze (units of SINGLE_GAZE, clipped) against the staging side
    of whom the character looks at then (+ = looking the mirrored way); None when nothing is known."""
    ev = []
    for f in faces:
        g = [v for v in (f.turn, f.look) if v is not None]
        target = _gaze_target(scene, who, place, f.t, wins) if g else None
        if target in place and target != who:
            ev.append(-float(np.clip(np.mean(g) / SINGLE_GAZE, -1, 1)) * np.sign(place[target] - place[who]))
    return float(np.mean(ev)) if ev else None


def _lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB (0-255, rows of 3) to CIE Lab (D65) on OpenCV's 8-bit scale (L x 2.55, a and b + 128);
    in numpy because OpenCV's own conversion costs ~50 ms to set up in each process."""
    c = rgb / 255.0
    c = np.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)
    xyz = c @ np.array([[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169],
                        [0.019334, 0.119193, 0.950227]]).T / np.array([0.950456, 1.0, 1.088754])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    lab = np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1)
    return lab * np.array([2.55, 1.0, 1.0]) + np.array([0.0, 128.0, 128.0])


def _torso_colour(media: ClipMedia, faces: list[Face]) -> np.ndarray | None:
    """Median Lab colour of the torso boxes under up to `TORSO_SAMPLES` of the faces (each box's
    median RGB over every other pixel), None when no box fits the frame."""
    frames, times = media.frames, media.frame_times
    h, w = frames.shape[1:3]
    colours = []
    for f in faces[:: max(1, -(-len(faces) // TORSO_SAMPLES))]:
        k = int(np.argmin(np.abs(times - f.t)))
        y0, y1 = max(0, int(f.y + TORSO_BELOW[0] * f.dx)), min(h, int(f.y + TORSO_BELOW[1] * f.dx))
        x0, x1 = max(0, int(f.x - TORSO_HALF_WIDTH * f.dx)), min(w, int(f.x + TORSO_HALF_WIDTH * f.dx) + 1)
        if y1 - y0 >= 2 and x1 - x0 >= 2:
            colours.append(np.median(frames[k, y0:y1:2, x0:x1:2].reshape(-1, 3), axis=0))
    return np.median(_lab(np.asarray(colours, np.float64)), axis=0) if colours else None


def scripted_shot_spans(media: ClipMedia) -> list[tuple[float, float] | None]:
    """Each scripted shot's time span: the detected shots when there are as many, else the scripted shots
    assigned to the detected ones in order (`shot_assignment.assigned_spans`: an extra cut inside a
    shot left out, a missed cut placed where the aligned lines put it; decision 215)."""

    def compute(m: ClipMedia) -> list[tuple[float, float] | None]:
        detected = [(sp.start, sp.end) for sp in shot_spans(m)]
        if len(detected) == len(m.scene.shots):
            return detected
        spans = {ls.index: (ls.span.start, ls.span.end) for ls in align_lines(m) if ls.span is not None}
        return assigned_spans(m.scene, spans, detected, m.duration_s, face_tracks(m))

    return media.feature("staging:shot_spans", compute)


def _appearance_disagreements(media: ClipMedia, tracks: list[Track], spans: list[tuple[float, float] | None],
                              place: dict[str, float]) -> dict[int, float]:
    """Per two-subject shot: how much better the faces' torso colours match their characters' (as seen in
    the clip's singles) when the two are swapped from the staging's sides (+ = mirrored), in ±1.

    Over the shoulder only the front face is seen: which of the two it is, by colour, against the side
    it is framed on. This tells a mirrored shot from one that frames the other character in front."""
    scene = media.scene
    width = media.size[0]
    if not any(span is not None and len(shot.subjects) == 2 for shot, span in zip(scene.shots, spans)):
        return {}
    seen: dict[str, list[np.ndarray]] = {}
    for shot, span in zip(scene.shots, spans):
        if span is None or len(shot.subjects) != 1:
            continue
        present = _faces_by_place(tracks, span[0] + 0.2, span[1] - 0.2, 1)
        colour = _torso_colour(media, max(present, key=len)) if present else None
        if colour is not None:
            seen.setdefault(shot.subjects[0], []).append(colour)
    ref = {c: np.median(v, axis=0) for c, v in seen.items()}
    out: dict[int, float] = {}
    for k, (shot, span) in enumerate(zip(scene.shots, spans)):
        if span is None or len(shot.subjects) != 2:
            continue
        left, right = sorted(shot.subjects, key=lambda c: place.get(c, 0.0))
        if left not in ref or right not in ref:
            continue
        present = [(_median_x(fs), _torso_colour(media, fs), len(fs))
                   for fs in _faces_by_place(tracks, span[0] + 0.2, span[1] - 0.2, 1)]
        present = [p for p in present if p[1] is not None]
        if shot.angle.value == "over_shoulder":
            if not present:
                continue
            x, colour, _ = max(present, key=lambda p: p[2])
            # the staging frames the left character in front left of centre, the right one right of it
            front_is_left = (np.linalg.norm(colour - ref[right]) - np.linalg.norm(colour - ref[left])) / COLOUR_UNIT
            out[k] = float(np.clip(front_is_left, -1, 1) * np.sign(x / width - 0.5))
        elif len(present) == 2:
            (_, on_left, _), (_, on_right, _) = sorted(present, key=lambda p: p[0])
            kept = np.linalg.norm(on_left - ref[left]) + np.linalg.norm(on_right - ref[right])
            swapped = np.linalg.norm(on_left - ref[right]) + np.linalg.norm(on_right - ref[left])
            out[k] = float(np.clip((kept - swapped) / COLOUR_UNIT, -1, 1))
    return out


def side_disagreements(media: ClipMedia) -> dict[int, float]:
    """Per scripted shot: how much the faces' screen sides disagree with the script's staging (+ = mirrored).

    - a single: its face's offset from the frame centre (units of `SINGLE_OFFSET`, clipped at
      ±`SINGLE_CLIP`) against the character's side of the staging, plus `GAZE_WEIGHT` × its gaze
      against the side of whom it looks at then (`_gaze_disagreement`);
    - over the shoulder (the front subject is the speaker of the shot's first line): the front
      face's offset against its side relative to the subjects seen from behind;
    - several subjects: per line, the face whose mouth opening varies most (the speaker's) left or
      right of the other faces against the speaker's side of the others, × `TWO_SHOT_WEIGHT` ×
      how clearly it varies most;
    - two subjects (side by side or over the shoulder): plus `COLOUR_WEIGHT` × which way round the
      faces' torso colours match the characters' in their singles (`_appearance_disagreements`).
    """
    scene = media.scene
    width = media.size[0]
    tracks = face_tracks(media)
    wins = line_windows(media)
    spans = scripted_shot_spans(media)
    order = stage_order(scene)
    n = len(order)
    place = {c: (i - (n - 1) / 2) / max(1, n - 1) for i, c in enumerate(order)}  # -0.5 left .. 0.5 right
    out: dict[int, float] = {}
    for k, (shot, span) in enumerate(zip(scene.shots, spans)):
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
            # a single's face counts from one sighting (a short shot is sampled once or twice); an
            # over-the-shoulder front face needs two (one sighting was often the next shot's face, 211)
            present = sorted(_faces_by_place(tracks, span[0] + 0.2, span[1] - 0.2, 2 if over else 1), key=len, reverse=True)
            if not present or len(present[0]) < 2 * (len(present[1]) if len(present) > 1 else 0):
                continue
            x = _median_x(present[0]) / width - 0.5
            score = -float(np.clip(x / SINGLE_OFFSET, -SINGLE_CLIP, SINGLE_CLIP)) * float(np.sign(ref))
            gaze = _gaze_disagreement(scene, who, place, present[0], wins) if not over else None
            if gaze is not None:
                score += GAZE_WEIGHT * gaze
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
    for k, v in _appearance_disagreements(media, tracks, spans, place).items():
        out[k] = out.get(k, 0.0) + COLOUR_WEIGHT * v
    return out


@probe("staging", ("ig.180_degree_rule_violation",))
def staging(media: ClipMedia) -> list[ModeScore]:
    """Who stands and looks where across shots, against the script's staging (decisions 106, 130, 211, 215).

    - 180-degree rule: per scripted shot (over the detected shots assigned to it in order,
      `scripted_shot_spans`), how much the faces' screen sides, a single's gaze and, in two-subject shots,
      which way round the faces' clothes match the characters' in their singles
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
    span = scripted_shot_spans(media)[k]
    windows = [(span[0], span[1], score)] if score > 0 and span is not None else []
    return [ModeScore("ig.180_degree_rule_violation", score, windows=windows)]
