"""The face probe: eye-pair face finder on drawn figures, turn signs and mouth opening, the expression read-out,
line scoring."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from diagnosers.media import ClipMedia
from diagnosers.probes.align import LineSpan
from diagnosers.probes.base import ModeScore
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
from diagnosers.probes import faces as faces_module
from diagnosers.probes.expression import GRID, face_crops, fit_expression_weights, shown_valence
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


def _two_shot_line():
    scene = next(s for s in load_suite("default").scenes
                 if any(len(sh.subjects) == 2 and sh.angle.value != "over_shoulder" and sh.lines for sh in s.shots))
    shot = next(sh for sh in scene.shots if len(sh.subjects) == 2 and sh.angle.value != "over_shoulder" and sh.lines)
    i = shot.lines[0]
    left_first = sorted(shot.subjects, key=stage_order(scene).index)
    return scene, i, left_first.index(scene.lines[i].speaker) == 0


def test_the_speaker_is_matched_to_faces_in_stage_order():
    scene, i, speaker_left = _two_shot_line()
    # neither mouth clearly talks: the script says who stands where
    tracks = [Track([Face(t, 80, 60, 20, turn=0.2, mouth=0.1 + 0.02 * (k % 2)) for k, t in enumerate((0.1, 0.4, 0.7))]),
              Track([Face(t, 240, 60, 20, turn=-0.2, mouth=0.1 + 0.03 * (k % 2)) for k, t in enumerate((0.1, 0.4, 0.7))])]
    got = speaker_faces(scene, tracks, {i: (0.0, 1.0)}, 320)[i]
    assert got.turn == pytest.approx(0.2 if speaker_left else -0.2)


def test_a_clearly_talking_face_is_the_speakers_wherever_it_stands():
    scene, i, speaker_left = _two_shot_line()
    still = [Face(t, 80 if not speaker_left else 240, 60, 20, turn=0.2, mouth=0.1) for t in (0.1, 0.4, 0.7)]
    talking = [Face(t, 240 if not speaker_left else 80, 60, 20, turn=-0.2, mouth=0.1 + 0.2 * (k % 2)) for k, t in enumerate((0.1, 0.4, 0.7))]
    got = speaker_faces(scene, [Track(still), Track(talking)], {i: (0.0, 1.0)}, 320)[i]
    assert got.turn == pytest.approx(-0.2)  # the talking face, on the side a mirrored shot puts it


def test_a_wide_shot_face_is_found_on_the_finer_luma():
    # a wide shot: figures 0.56 frame heights tall, pupils about 3 px apart at 320x180
    big = np.zeros((360, 640, 3), np.uint8)
    big[:] = (120, 140, 160)
    p = Pose(cx=200, feet_y=0.36 * 360 + 0.56 * 360, h=0.56 * 360, look=Look(skin=SKINS[1], hair=(40, 30, 25)))
    draw_figure(big, p)
    small = cv2.resize(big, (320, 180), interpolation=cv2.INTER_AREA)
    luma = cv2.cvtColor(big, cv2.COLOR_RGB2GRAY)
    found = detect_faces(small, luma=luma)
    hx, hy, rx, _ = head_box(p)
    assert len(found) == 1
    assert abs(found[0].x * 2 - hx) < 0.3 * rx and abs(found[0].y * 2 - hy) < 0.5 * rx


def test_mouth_opening_follows_the_drawn_mouth():
    shut = detect_faces(_frame([_pose(mouth=0.0)]))[0].mouth
    wide = detect_faces(_frame([_pose(mouth=1.0)]))[0].mouth
    assert shut is not None and wide > shut + 0.05


def test_two_figures_give_two_faces():
    found = detect_faces(_frame([_pose(cx=100, facing=0.45, gaze=0.9), _pose(cx=220, skin=SKINS[0], facing=-0.45, gaze=-0.9)]))
    assert len(found) == 2
    a, b = sorted(found, key=lambda f: f.x)
    assert a.turn > 0 and b.turn < 0  # each looks at the other


def _shown(valence: float, skin, arousal: float = 0.5) -> float:
    """The bundled read-out's valence for a drawn close-up face, mouth half open (talking)."""
    frame = _frame([_pose(skin=skin, valence=valence, arousal=arousal, mouth=0.3)])
    media = ClipMedia.from_arrays(frame[None], np.zeros(1600, np.float32), fps=5.0)
    face = detect_faces(frame)[0]
    weights, bias = faces_module._model()["expression"]
    return shown_valence({0: face_crops(media, [face])}, weights, bias)[0]


@pytest.mark.parametrize("skin", SKINS)
@pytest.mark.parametrize("arousal", [0.2, 0.5])
def test_the_read_out_tells_a_smile_from_a_frown(skin, arousal):
    # (one drawn frame; a line's reading is the median of many. An angry frown with wide eyes, arousal 0.8,
    # on the palest skin reads above the smile on one frame: decision 196. The smallest margin, the middle
    # skin at arousal 0.2, moves with each refit of the read-out: 0.515, then 0.498 after decision 217's)
    assert _shown(0.8, skin, arousal) > _shown(-0.8, skin, arousal) + 0.45


def test_a_ridge_read_out_recovers_a_linear_valence():
    rng = np.random.default_rng(0)
    direction = rng.normal(size=GRID * GRID).astype(np.float32)
    valences = list(np.linspace(-0.9, 0.9, 40))
    crops = [rng.normal(size=(3, GRID * GRID)).astype(np.float32) + 2 * v * direction for v in valences]
    weights, bias = fit_expression_weights(crops, valences)
    shown = shown_valence(dict(enumerate(crops)), weights, bias)
    assert np.corrcoef([shown[i] for i in range(40)], valences)[0, 1] > 0.95


def test_line_scores_compare_the_face_with_the_script():
    scene = load_suite("default").scenes[0]
    media = ClipMedia.from_arrays(np.zeros((10, 18, 32, 3), np.uint8), np.zeros(16000, np.float32), scene, fps=5.0)
    n = len(scene.lines)
    media.feature("line_alignment", lambda m: [LineSpan(i, Span(i, i + 0.8), 0.9) for i in range(n)])
    v0 = next(i for i, ln in enumerate(scene.lines) if ln.emotion.value != "neutral")
    from scenes.vocabulary import EMOTION_AFFECT

    sign = np.sign(EMOTION_AFFECT[scene.lines[v0].emotion][0])
    weights, _ = faces_module._model()["expression"]
    # cut-outs the read-out reads as the opposite of the scripted valence
    media.feature("faces:crops", lambda m: {v0: np.tile(-sign * weights / np.linalg.norm(weights) ** 2, (4, 1))})
    media.feature("faces:lines", lambda m: {v0: LineFace(4, turn=-0.2, toward=1.0, dx=20.0)})
    media.feature("probe:delivery", lambda m: [])
    media.feature("probe:voices", lambda m: [])  # no line heard in another character's voice
    scores = {s.mode: s for s in faces.measure(media)}
    assert scores["ep.facial_expression_inconsistency"].lines[v0] > 0  # a frown on a happy line or a smile on a sad one
    if scene.lines[v0].addressee:
        assert scores["ip.interaction_eyeline_failure"].lines[v0] > 0  # looking left while the addressee is right
    assert scores["ep.multimodal_expressive_inconsistency"].lines[v0] > 0


def test_a_single_framed_and_looking_across_the_line_reads_as_mirrored():
    from diagnosers.probes.staging import side_disagreements

    scene = next(s for s in load_suite("default").scenes
                 if len(s.characters) == 2 and any(len(sh.subjects) == 1 and sh.lines for sh in s.shots))
    k = next(n for n, sh in enumerate(scene.shots) if len(sh.subjects) == 1 and sh.lines)
    who = scene.shots[k].subjects[0]
    side = -1 if stage_order(scene).index(who) == 0 else 1  # the staging's side of the frame for `who`
    spans = [Span(2.0 * n, 2.0 * n + 2.0) for n in range(len(scene.shots))]

    def single(x_side: int, gaze: float) -> float:
        media = ClipMedia.from_arrays(np.zeros((10, 180, 320, 3), np.uint8), np.zeros(16000, np.float32), scene, fps=5.0)
        x = 160 + x_side * 35
        faces_ = [Face(2.0 * k + t, x, 60, 20, turn=gaze, look=gaze, mouth=0.2) for t in (0.4, 0.8, 1.2, 1.6)]
        media.feature("faces:tracks", lambda m: [Track(faces_)])
        media.feature("faces:windows", lambda m: {})
        media.feature("shot_spans", lambda m: spans)
        return side_disagreements(media)[k]

    assert single(side, -0.2 * side) < 0   # on their side, looking across at the partner
    assert single(-side, 0.2 * side) > 0   # framed and looking as in a mirrored shot


def test_the_faces_model_fits_each_half_on_its_own_fault(tmp_path):
    from types import SimpleNamespace

    scene = load_suite("default").scenes[0]
    n = len(scene.lines)
    media = ClipMedia.from_arrays(np.zeros((10, 18, 32, 3), np.uint8), np.zeros(16000, np.float32), scene, fps=5.0)
    lines = {i: LineFace(4, turn=0.0, toward=0.0, dx=20.0) for i in range(n)}
    media.feature("faces:lines", lambda m: lines)
    rng = np.random.default_rng(1)
    media.feature("faces:crops", lambda m: {i: rng.normal(size=(3, GRID * GRID)).astype(np.float32) for i in lines})
    media.feature("faces:windows", lambda m: {i: (i, i + 0.8) for i in lines})
    manifest = SimpleNamespace(faults=[SimpleNamespace(fault="expression_mismatch", line=0),
                                       SimpleNamespace(fault="flat_delivery", line=1)])
    original = faces_module._vocal_flatness
    faces_module._vocal_flatness = lambda m: {i: 10.0 if i == 1 else -float(i) for i in lines}  # line 1 flat
    try:
        model = faces_module.fit_faces_model([(media, manifest)] * 5, out=tmp_path / "faces_model.json")
    finally:
        faces_module._vocal_flatness = original
        faces_module._model.cache_clear()
    assert (tmp_path / "faces_model.json").is_file()
    # the voice's cut tells its own fault (line 1) from every other line; its spread is the fault-free lines'
    assert -2.0 <= model["voice"]["cut"] < 10.0 and model["voice"]["lines"] == 5 * n
    clean = [-float(i) for i in range(2, n)] * 5
    assert model["voice"]["scale"] == pytest.approx(np.percentile(clean, 95) - np.median(clean))
    assert model["face"]["lines"] == 5 * n and model["face"]["scale"] > 0
    assert model["expected"]["lines"] == 5 * (n - 2)  # both faulty lines left out
    # too few face lines to fit the read-out: the one in use is kept
    assert model["expression"]["kept"] and len(model["expression"]["weights"]) == GRID * GRID


def test_the_expression_score_measures_from_the_clean_expectation():
    scene = load_suite("default").scenes[0]
    i = next(k for k, ln in enumerate(scene.lines) if ln.emotion.value != "neutral")
    from scenes.vocabulary import EMOTION_AFFECT

    v = EMOTION_AFFECT[scene.lines[i].emotion][0]
    expected = (0.5, 0.1)
    as_expected = faces_module.expression_scores({i: 0.5 * v + 0.1}, scene, expected)[i]
    opposite = faces_module.expression_scores({i: -v}, scene, expected)[i]
    assert as_expected == pytest.approx(0.0) and opposite > 0


def test_multimodal_needs_both_the_face_and_the_voice():
    scene = load_suite("default").scenes[0]
    spoken = [k for k, ln in enumerate(scene.lines) if ln.delivery.value != "voice_over"]
    a, b = spoken[:2]
    cut_face, scale_face = faces_module._model()["face"]
    cut_voice, scale_voice = faces_module._model()["voice"]
    scores = faces_module.multimodal_scores({a: cut_face + scale_face, b: 0.0}, {a: cut_voice - scale_voice}, scene)
    assert set(scores) == {a}  # line b has no voice reading: a face alone can't disagree with it
    assert scores[a] == pytest.approx(1.0)  # one spread past the face's cut, one short of the voice's


def test_multimodal_skips_a_line_heard_in_another_voice():
    scene = load_suite("default").scenes[0]
    a, b = [k for k, ln in enumerate(scene.lines) if ln.delivery.value != "voice_over"][:2]
    cut_face, scale_face = faces_module._model()["face"]
    expr = {a: cut_face + scale_face, b: cut_face + scale_face}
    scores = faces_module.multimodal_scores(expr, {a: 0.0, b: 0.0}, scene, other_voice={b})
    assert set(scores) == {a}  # line b's voice is another character's: its face and voice can't be compared


def test_the_other_voice_lines_are_the_identity_scores_past_the_wrong_voice_cut():
    from diagnosers.probes.voice import WRONG_VOICE

    scene = load_suite("default").scenes[0]
    media = ClipMedia.from_arrays(np.zeros((10, 18, 32, 3), np.uint8), np.zeros(16000, np.float32), scene, fps=5.0)
    identity = {0: WRONG_VOICE + 0.5, 1: WRONG_VOICE - 0.5, 2: -5.0}
    media.feature("probe:voices", lambda m: [ModeScore("dp.speaker_identity_error", max(identity.values()), identity)])
    assert faces_module._other_voice_lines(media) == {0}


def test_the_cut_outs_are_mirror_averaged():
    frame = _frame([_pose(skin=SKINS[0], valence=0.5, arousal=0.5, mouth=0.3)])
    media = ClipMedia.from_arrays(frame[None], np.zeros(1600, np.float32), fps=5.0)
    crops = face_crops(media, [detect_faces(frame)[0]]).reshape(-1, GRID, GRID)
    assert crops.std() > 0 and np.allclose(crops, crops[:, :, ::-1])  # a head turn's left-right difference is gone
