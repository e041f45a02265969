"""The face probe: eye-pair face finder on drawn figures, turn and mouth-curve signs, line scoring."""

from __future__ import annotations

import numpy as np
import pytest

from diagnosers.media import ClipMedia
from diagnosers.probes.align import LineSpan
from diagnosers.probes.faces import (
    Face,
    LineFace,
    Track,
    detect_faces,
    faces,
    shot_windows,
    speaker_faces,
    stage_order,
)
from diagnosers.probes.features import Span
from generators.procedural.figure import Pose, draw_figure, head_box
from generators.procedural.look import Look
from scenes import load_suite

SKINS = [(250, 214, 180), (205, 150, 110), (90, 60, 40)]


def _frame(poses: list[Pose], bg=(120, 140, 160)) -> np.ndarray:
    img = np.zeros((180, 320, 3), np.uint8)
    img[:] = bg
    for p in poses:
        draw_figure(img, p)
    return img


def _pose(cx: float = 160, skin=SKINS[1], **kw) -> Pose:
    # a medium shot: figure 1.55 frame heights tall, head near the top
    return Pose(cx=cx, feet_y=0.1 * 180 + 1.55 * 180, h=1.55 * 180, look=Look(skin=skin, hair=(40, 30, 25)), **kw)


@pytest.mark.parametrize("skin", SKINS)
def test_a_drawn_face_is_found_where_its_head_is(skin):
    p = _pose(skin=skin)
    found = detect_faces(_frame([p]))
    assert len(found) == 1
    hx, hy, rx, _ = head_box(p)
    assert abs(found[0].x - hx) < 0.2 * rx and abs(found[0].y - hy) < 0.4 * rx
    assert 0.6 * rx < found[0].dx < 1.0 * rx  # the pupils sit 0.8 head radii apart


def test_no_face_on_an_empty_set():
    img = np.zeros((180, 320, 3), np.uint8)
    img[:, :160] = (200, 190, 170)
    img[60:70, 40:50] = (20, 20, 20)
    assert detect_faces(img) == []


def test_turn_and_pupils_follow_the_side_the_face_looks_to():
    right = detect_faces(_frame([_pose(facing=0.45, gaze=0.9)]))[0]
    left = detect_faces(_frame([_pose(facing=-0.45, gaze=-0.9)]))[0]
    ahead = detect_faces(_frame([_pose()]))[0]
    assert right.turn > 0.1 and left.turn < -0.1 and abs(ahead.turn) < 0.06
    assert right.look > 0.05 and left.look < -0.05 and abs(ahead.look) < 0.04


def test_line_windows_fall_back_to_the_scripted_shot():
    scene = next(s for s in load_suite("default").scenes if len(s.shots) > 1 and s.shots[1].lines)
    shots = [(2.0 * k, 2.0 * k + 2.0) for k in range(len(scene.shots))]
    planned = [1.0] * len(scene.lines)
    first = scene.shots[1].lines[0]
    spans = {first: (30.0, 31.0)}  # misplaced by the aligner, far outside its shot
    out = shot_windows(scene, spans, shots, planned)
    assert 2.0 <= out[first][0] < out[first][1] <= 4.0
    assert shot_windows(scene, spans, shots[:-1], planned) == spans  # shot count differs: speech spans as they are


def test_the_speaker_is_matched_to_faces_in_stage_order():
    scene = next(s for s in load_suite("default").scenes
                 if any(len(sh.subjects) == 2 and sh.angle.value != "over_shoulder" and sh.lines for sh in s.shots))
    shot = next(sh for sh in scene.shots if len(sh.subjects) == 2 and sh.angle.value != "over_shoulder" and sh.lines)
    i = shot.lines[0]
    order = stage_order(scene)
    left_first = sorted(shot.subjects, key=order.index)
    # the left face talks less than the right one, but the script says who stands where
    tracks = [Track([Face(t, 80, 60, 20, turn=0.2, mouth=0.1) for t in (0.1, 0.4, 0.7)]),
              Track([Face(t, 240, 60, 20, turn=-0.2, mouth=0.1 + 0.2 * (k % 2)) for k, t in enumerate((0.1, 0.4, 0.7))])]
    got = speaker_faces(scene, tracks, {i: (0.0, 1.0)}, 320)[i]
    want_turn = 0.2 if left_first.index(scene.lines[i].speaker) == 0 else -0.2
    assert got.turn == pytest.approx(want_turn)


def test_mouth_curve_follows_valence():
    smile = detect_faces(_frame([_pose(valence=0.8)]))[0].curve
    frown = detect_faces(_frame([_pose(valence=-0.8)]))[0].curve
    assert smile > 0.1 and frown < -0.1


def test_two_figures_give_two_faces():
    found = detect_faces(_frame([_pose(cx=100, facing=0.45, gaze=0.9), _pose(cx=220, skin=SKINS[0], facing=-0.45, gaze=-0.9)]))
    assert len(found) == 2
    a, b = sorted(found, key=lambda f: f.x)
    assert a.turn > 0 and b.turn < 0  # each looks at the other


def test_line_scores_compare_the_face_with_the_script():
    scene = load_suite("default").scenes[0]
    media = ClipMedia.from_arrays(np.zeros((10, 18, 32, 3), np.uint8), np.zeros(16000, np.float32), scene, fps=5.0)
    n = len(scene.lines)
    media.feature("line_alignment", lambda m: [LineSpan(i, Span(i, i + 0.8), 0.9) for i in range(n)])
    v0 = next(i for i, ln in enumerate(scene.lines) if ln.emotion.value != "neutral")
    from scenes.vocabulary import EMOTION_AFFECT

    sign = np.sign(EMOTION_AFFECT[scene.lines[v0].emotion][0])
    media.feature("faces:lines", lambda m: {v0: LineFace(4, valence=-0.5 * sign, turn=-0.2, toward=1.0, dx=20.0)})
    media.feature("probe:delivery", lambda m: [])
    scores = {s.mode: s for s in faces.measure(media)}
    assert scores["ep.facial_expression_inconsistency"].lines[v0] > 0  # a frown on a happy line or a smile on a sad one
    if scene.lines[v0].addressee:
        assert scores["ip.interaction_eyeline_failure"].lines[v0] > 0  # looking left while the addressee is right
    assert scores["ep.multimodal_expressive_inconsistency"].lines[v0] > 0
