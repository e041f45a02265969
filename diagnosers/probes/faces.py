"""Expression and eyeline per line from the speaker's face track (faces: `face_tracking`, decisions 099, 131, 132;
the face's valence: `expression`, decisions 196, 202; multimodal: decisions 203, 213)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from diagnosers.media import ClipMedia
from diagnosers.probes.align import align_lines, planned_durations
from diagnosers.probes.base import ModeScore, probe
from diagnosers.probes.expression import MIN_FIT_LINES, fit_expression_weights, line_crops, shown_valence
from diagnosers.probes.face_tracking import (  # noqa: F401  (STRIDE_S, detect_faces: re-exported for callers)
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
    turn: float | None      # median head/eye turn, + = toward screen right
    toward: float           # side of the addressee (+1 right, -1 left, 0 unknown)
    dx: float = 0.0         # pupil separation in pixels (face size)
    side_from: str = ""     # where `toward` came from: "face" in frame, "framing", "stage" order
    look: float | None = None  # median pupil offset in the eye whites, + = toward screen right
    seen: list[Face] = field(default_factory=list)  # the speaker's face observations in the line


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


# The talking face: its mouth opening's spread over the line's samples above 0.03 (a still mouth reads
# under 0.01, a talking one 0.1-0.2 on fitting clips) and the next face's under half of it.
TALKING_SPREAD = 0.03
TALKING_CLEAR = 0.5
# A face framed more than this share of the frame width off centre has the person it talks to on the
# other side (singles sit 0.11 off centre, two-shots 0.18; decision 099).
FRAMING_OFFSET = 0.06


def _speaker_track(scene, i: int, present: list[tuple[Track, list[Face]]], order: dict[str, int], width: int) -> int:
    """Which of the faces on screen during line i is the speaker's (-1: none of them).

    An over-the-shoulder shot shows one face, its front subject's (the speaker of the shot's first
    line; -1 when the line's speaker is the one seen from behind). In a shot of several subjects,
    the face whose mouth opening varies most (the one talking) when it varies clearly more than the
    others' (a mirrored shot swaps the faces' order, decision 132); else, with every subject's face
    found, the faces matched left to right to the subjects in the script's stage order; else a lone
    face matched to the subject framed on its side of the frame.
    """
    speaker = scene.lines[i].speaker
    try:
        shot = scene.shots[scene.shot_of_line(i)]
    except KeyError:
        shot = None
    activity = [float(np.std([f.mouth for f in fs])) for _, fs in present]
    if shot is None or speaker not in shot.subjects:
        return int(np.argmax([a + 0.01 * len(fs) for a, (_, fs) in zip(activity, present)]))
    facing = sorted(shot.subjects, key=lambda c: order.get(c, 99))
    if shot.angle.value == "over_shoulder" and len(facing) >= 2:
        first = scene.lines[shot.lines[0]].speaker if shot.lines else None
        front = first if first in shot.subjects else shot.subjects[0]
        if front != speaker:
            return -1  # the speaker is the one seen from behind
        return int(np.argmax([len(fs) for _, fs in present]))
    if len(facing) == 1:
        return int(np.argmax([len(fs) for _, fs in present]))
    top = sorted(activity)
    if len(top) >= 2 and top[-1] > TALKING_SPREAD and top[-2] < TALKING_CLEAR * top[-1]:
        return int(np.argmax(activity))
    xs = [float(np.median([f.x for f in fs])) for _, fs in present]
    if len(facing) == len(present):
        return sorted(range(len(present)), key=lambda j: xs[j])[facing.index(speaker)]
    if len(present) == 1:
        slot = min(len(facing) - 1, int(xs[0] / width * len(facing)))  # subjects stand evenly across the frame
        return 0 if facing[slot] == speaker else -1
    return -1


def _addressee(scene, line) -> str | None:
    """Whom a line is said to: its addressee, else the other character of a two-hander."""
    if line.addressee:
        return line.addressee
    others = [c.id for c in scene.characters if c.id != line.speaker]
    return others[0] if len(others) == 1 else None


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
        k = _speaker_track(scene, i, present, order, W)
        if k < 0:
            continue
        _tr, fs = present[k]
        size = float(np.median([f.dx for f in fs]))
        fs = [f for f in fs if 0.8 < f.dx / size < 1.25]  # one face keeps its size within a shot
        x = float(np.median([f.x for f in fs]))
        turns = [f.turn for f in fs if f.turn is not None]
        looks = [f.look for f in fs if f.look is not None]
        toward, side_from = 0.0, ""
        addressee = _addressee(scene, line)
        if addressee and addressee in order and line.speaker in order:
            rank = float(np.sign(order[addressee] - order[line.speaker]))
            others = [float(np.median([f.x for f in ofs])) - x for j, (_, ofs) in enumerate(present) if j != k]
            others = [o for o in others if abs(o) > 2 * np.median([f.dx for f in fs])]  # faces can't overlap
            try:
                subjects = scene.shots[scene.shot_of_line(i)].subjects
            except KeyError:
                subjects = []
            if addressee in subjects and others and (all(o > 0 for o in others) or all(o < 0 for o in others)):
                toward, side_from = float(np.sign(others[0])), "face"
            elif abs(x / W - 0.5) > FRAMING_OFFSET:
                # framed off-centre on their own side, the person addressed (in frame or not) opposite
                toward, side_from = -float(np.sign(x / W - 0.5)), "framing"
            else:
                toward, side_from = rank, "stage"  # where the staging put them (the script's order)
        out[i] = LineFace(len(fs), float(np.median(turns)) if len(turns) >= max(2, 0.3 * len(fs)) else None, toward, size, side_from,
                          float(np.median(looks)) if len(looks) >= max(2, 0.3 * len(fs)) else None, fs)
    return out


EXPRESSION = "ep.facial_expression_inconsistency"
MULTIMODAL = "ep.multimodal_expressive_inconsistency"
EYELINE = "ip.interaction_eyeline_failure"
# `faces_model.json` (written by `fit_faces_model` on fitting clips): the expression read-out (`expression`:
# ridge weights on the face cut-outs, decision 196), the valence a fault-free face shows for a scripted one
# (`expected`: slope and offset, decision 202) and, for the multimodal mode, each half's own cut and spread
# (`face`, `voice`: the cut that best tells the half's fault from the other lines, the 95th percentile minus
# the median of its fault-free lines; decisions 133, 203). Without the file there is no read-out (the
# expression and multimodal scores abstain); the defaults are the values fitted on sparse seeds 0-5 in decisions
# 202-203; refit whenever the face finder, the read-out or the vocal flatness changes.
FACES_MODEL = Path(__file__).with_name("faces_model.json")
DEFAULT_SCALES = {"face": (0.49, 0.31), "voice": (0.36, 2.94)}
DEFAULT_EXPECTED = (0.66, 0.015)
# Each half's cut is fitted as the judge fits a mode's (`evaluation.fit_threshold`) with its cap on the
# fitting negatives (probe_lab's `max_fpr`); there are no clean clips among the fitting pairs.
HALF_MAX_FPR = 0.10


@lru_cache(maxsize=2)
def _model(path: Path = FACES_MODEL) -> dict:
    """The halves' (cut, scale) ("face", "voice"), the clean expectation ("expected": (slope, offset)) and the
    read-out ("expression": (weights, bias) or None)."""
    if not path.is_file():
        return {**DEFAULT_SCALES, "expected": DEFAULT_EXPECTED, "expression": None}
    data = json.loads(path.read_text(encoding="utf-8"))
    model: dict = {k: (float(data[k]["cut"]), float(data[k]["scale"])) for k in ("face", "voice")}
    expected = data.get("expected")
    model["expected"] = (float(expected["slope"]), float(expected["offset"])) if expected else DEFAULT_EXPECTED
    readout = data.get("expression")
    model["expression"] = (np.array(readout["weights"], np.float32), float(readout["bias"])) if readout else None
    return model


def _vocal_flatness(media: ClipMedia) -> dict[int, float]:
    """Per-line vocal flatness (`voice.flat_scores`: the pitch, spread, speaking-time and level evidence
    that the line was said neutral), read only."""
    from diagnosers.probes.voice import flat_scores

    return flat_scores(media)


def expression_scores(shown: dict[int, float], scene, expected: tuple[float, float] | None = None) -> dict[int, float]:
    """Per line: how far the valence the face shows lies from what a fault-free face shows for the scripted
    valence v (`expected`: slope * v + offset), toward the opposite sign, weighted by how clearly the script's
    emotion is valenced: -sign(v) * min(1, |v| / 0.3) * (shown - expected(v)) (0 on a neutral line)."""
    slope, offset = _model()["expected"] if expected is None else expected
    out = {}
    for i, s in shown.items():
        v = EMOTION_AFFECT[scene.lines[i].emotion][0]
        out[i] = -float(np.sign(v)) * min(1.0, abs(v) / 0.3) * (s - (slope * v + offset)) if v else 0.0
    return out


def _other_voice_lines(media: ClipMedia) -> set[int]:
    """Lines the `voices` probe hears in another character's voice (speaker-identity score over
    `voice.WRONG_VOICE`, decision 123); read only, from the judge's per-clip cache of that probe."""
    from diagnosers.probes.voice import WRONG_VOICE, voices

    identity = next((s.lines for s in voices.measure(media) if s.mode == "dp.speaker_identity_error"), {})
    return {i for i, v in identity.items() if v > WRONG_VOICE}


def multimodal_scores(expr: dict[int, float], vocal: dict[int, float], scene,
                      other_voice: set[int] = frozenset()) -> dict[int, float]:
    """Per on-screen line with both the face and the voice measured and the voice heard as the speaker's
    (not in `other_voice`): the larger of the face score and the vocal flatness, each minus its own fitted
    cut over its clean spread (positive: past that half's cut; decisions 203, 213)."""
    (face_cut, face_scale), (voice_cut, voice_scale) = _model()["face"], _model()["voice"]
    out = {}
    for i in set(expr) & set(vocal):
        if scene.lines[i].delivery is Delivery.voice_over or i in other_voice:
            continue
        out[i] = max((expr[i] - face_cut) / face_scale, (vocal[i] - voice_cut) / voice_scale)
    return out


def fit_faces_model(samples, out: Path = FACES_MODEL) -> dict:
    """From (media, manifest) fitting pairs: the expression read-out (ridge weights of the scripted valence on
    the speaker's face cut-outs of lines with neither an expression nor a delivery fault,
    `expression.fit_expression_weights`), the line of the valence it reads on those lines against the scripted
    one (`expected`), and per multimodal half (the expression score, the vocal flatness) its cut (`fit_threshold`
    of the half's own fault, expression_mismatch or flat_delivery, against every other line it reads, false
    positives capped at `HALF_MAX_FPR`) and its spread (95th percentile minus median on the fault-free lines);
    written to `faces_model.json`. With fewer than `MIN_FIT_LINES` fault-free face lines the read-out in use
    is kept."""
    from diagnosers.evaluation import fit_threshold

    crops, valences, face_lines, voice = [], [], [], []
    for media, manifest in samples:
        lines_with = {name: {f.line for f in manifest.faults if f.fault == name and f.line is not None}
                      for name in ("expression_mismatch", "flat_delivery")}
        faulty = lines_with["expression_mismatch"] | lines_with["flat_delivery"]
        scene = media.scene
        for i, c in line_crops(media).items():
            face_lines.append((c, scene, i, i in lines_with["expression_mismatch"], i in faulty))
            if i not in faulty:
                crops.append(c)
                valences.append(EMOTION_AFFECT[scene.lines[i].emotion][0])
        voice += [(v, i in lines_with["flat_delivery"], i in faulty) for i, v in _vocal_flatness(media).items()]
    if len(crops) >= MIN_FIT_LINES:
        weights, bias = fit_expression_weights(crops, valences)
        readout = {"weights": [round(float(w), 6) for w in weights], "bias": round(bias, 6), "lines": len(crops)}
    else:
        kept = _model()["expression"]
        readout = {"weights": [float(w) for w in kept[0]], "bias": kept[1], "kept": True} if kept else None
    model: dict = {"expected": dict(zip(("slope", "offset"), DEFAULT_EXPECTED))}
    face = []
    if readout:
        w, b = np.array(readout["weights"], np.float32), float(readout["bias"])
        shown = [(shown_valence({i: c}, w, b)[i], scene, i, hit, bad) for c, scene, i, hit, bad in face_lines]
        clean = [(EMOTION_AFFECT[scene.lines[i].emotion][0], s) for s, scene, i, _, bad in shown if not bad]
        if len(clean) >= 20:
            slope, offset = np.polyfit(*zip(*clean), 1)
            model["expected"] = {"slope": round(float(slope), 6), "offset": round(float(offset), 6),
                                 "lines": len(clean)}
        expected = (model["expected"]["slope"], model["expected"]["offset"])
        face = [(expression_scores({i: s}, scene, expected)[i], hit, bad) for s, scene, i, hit, bad in shown]
    for name, vals in (("face", face), ("voice", voice)):
        fitted = fit_threshold([(v, hit) for v, hit, _ in vals], max_fpr=HALF_MAX_FPR) if vals else None
        clean = [v for v, _, bad in vals if not bad]
        if fitted is None or len(clean) < 20:
            model[name] = dict(zip(("cut", "scale"), DEFAULT_SCALES[name]))
            continue
        spread = float(np.percentile(clean, 95)) - float(np.median(clean))
        model[name] = {"cut": fitted["threshold"], "scale": max(1e-6, spread), "lines": len(vals)}
    model["expression"] = readout
    out.write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
    _model.cache_clear()
    return model


@probe("faces", (EXPRESSION, MULTIMODAL, EYELINE))
def faces(media: ClipMedia) -> list[ModeScore]:
    """The speaker's face per line (eye-pair face finder, decision 099) against the script.

    - facial expression inconsistency: the valence the speaker's face shows (`expression`: a read-out of
      their face's cut-outs fitted on fitting clips, median over the line's observations; decision 196)
      against what a fault-free face shows for the line's scripted valence v (EMOTION_AFFECT; a fitted line,
      decision 202), toward the opposite sign, weighted by how clearly the emotion is valenced:
      -sign(v) * min(1, |v| / 0.3) * (shown - expected(v)); no read-out fitted: no score;
    - eyeline failure: the speaker's head turn and pupil offset (mean of the two) against the side
      where the addressee stands (another face in frame when the addressee is in the shot, else the
      side opposite a face framed off centre, else the script's stage order; a two-hander's line
      without an addressee is said to the other character): -side * gaze (positive: looks away
      from the person addressed). The speaker's face is the clearly talking one in a shot of
      several (decision 132);
    - multimodal expressive inconsistency, on lines where both the face and the voice are measured (a
      face and a voice can only disagree where both are seen and heard) and the voice is heard as the
      speaker's (not another character's, `voices`' speaker-identity score; decision 213): the larger of
      the face score and the vocal flatness (`voice.flat_scores`), each minus its own fitted cut, in units
      of its spread on fault-free fitting lines (decisions 133, 203).
    """
    scene = media.scene
    lf = line_faces(media)
    spans = line_windows(media)
    readout = _model()["expression"]
    expr = expression_scores(shown_valence(line_crops(media), *readout), scene) if readout else {}
    eye = {}
    for i, f in lf.items():
        gaze = [g for g in (f.turn, f.look) if g is not None]
        if gaze and f.toward:
            eye[i] = -f.toward * float(np.mean(gaze))
    multi = multimodal_scores(expr, _vocal_flatness(media), scene, _other_voice_lines(media)) if expr else {}
    out = []
    for mode, d in ((EXPRESSION, expr), (EYELINE, eye), (MULTIMODAL, multi)):
        windows = [(spans[i][0], spans[i][1], sc) for i, sc in d.items() if i in spans]
        out.append(ModeScore(mode, max(d.values()) if d else None, d, windows))
    return out
