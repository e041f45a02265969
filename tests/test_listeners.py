"""The `listeners` probe (sf.non_speaker_lip_motion): a listener's mouth moving with the line, read on drawn
figures found by the eye-pair face finder (no rendering, no models)."""

from __future__ import annotations

import numpy as np
import pytest

from diagnosers.media import ClipMedia
from diagnosers.probes import measure_all
from diagnosers.probes.face_finder import Face
from diagnosers.probes.face_tracking import Track
from diagnosers.probes.listeners import MODE, listener_score, mouth_activity, shot_faces
from generators.procedural.figure import Pose, draw_figure
from generators.procedural.look import Look
from scenes import load_suite

FPS = 12.5
SECONDS = 6.0


def test_a_mouth_that_keeps_changing_is_active_and_a_still_one_is_not():
    talking = np.array([0.1, 0.5, 0.2, 0.6, 0.1, 0.4, 0.1, 0.5])
    assert mouth_activity(talking) == 1.0
    assert mouth_activity(np.full(8, 0.3) + 0.02 * (np.arange(8) % 2)) == 0.0  # small flicker is no movement
    assert mouth_activity(np.array([0.1, np.nan, 0.5, np.nan, 0.1, 0.5])) == 1.0  # unread frames are skipped
    assert mouth_activity(np.array([0.1, 0.5, np.nan])) is None  # too few frames read


def test_the_second_most_active_mouth_scores_the_line():
    assert listener_score([0.9, 0.1], lone_listener=False) == 0.1  # the speaker talks, the listener is still
    assert listener_score([0.8, 0.7, 0.0], lone_listener=False) == 0.7  # a second mouth talks along
    assert listener_score([0.6], lone_listener=True) == 0.6  # the front face of an over-the-shoulder shot listens
    assert listener_score([0.6], lone_listener=False) is None  # the speaker alone: no listener seen
    assert listener_score([], lone_listener=True) is None


def _track(x: float, y: float, n: int, dx: float = 10.0) -> Track:
    return Track([Face(0.32 * k, x, y, dx, mouth=0.2) for k in range(n)])


def test_shot_faces_keep_one_steady_face_per_person():
    face, body, other, ghost = _track(100, 50, 15), _track(102, 80, 15), _track(220, 52, 14), _track(160, 60, 2)
    kept = shot_faces([body, face, other, ghost], 0.0, 5.0)
    assert [round(fs[0].x) for fs in kept] == [100, 220]  # the pattern under a face and a face seen twice go


def _frames(listener_mouth: np.ndarray, speaker_mouth: np.ndarray) -> np.ndarray:
    """A medium two-shot (mara left, tom right; the mini suite's stage order), one frame per mouth value."""
    out = np.zeros((len(speaker_mouth), 180, 320, 3), np.uint8)
    for k in range(len(out)):
        out[k] = (120, 140, 160)
        for cx, skin, m in ((100, (205, 150, 110), speaker_mouth[k]), (220, (250, 214, 180), listener_mouth[k])):
            draw_figure(out[k], Pose(cx=cx, feet_y=0.1 * 180 + 1.55 * 180, h=1.55 * 180, look=Look(skin=skin, hair=(40, 30, 25)),
                                     mouth=float(m)))
    return out


@pytest.fixture(scope="module")
def scene():
    return load_suite("mini").scene("kitchen-quarrel")


def _line_score(scene, listener_moves: bool) -> float | None:
    rng = np.random.default_rng(5)
    n = int(SECONDS * FPS)
    talk = np.where(rng.random(n) < 0.5, rng.uniform(0.5, 1.0, n), 0.0)  # syllables open and close the mouth
    media = ClipMedia.from_arrays(_frames(0.9 * talk if listener_moves else np.zeros(n), talk), np.zeros(int(SECONDS * 16000), np.float32),
                                  scene, fps=FPS)
    media.feature("faces:windows", lambda m: {0: (0.5, SECONDS - 0.5)})  # line placement is tested elsewhere
    return measure_all(media, {MODE})[MODE].line_score(0)


def test_a_listeners_lips_moving_with_the_line_raise_its_score(scene):
    still, moving = _line_score(scene, False), _line_score(scene, True)
    assert still is not None and moving is not None
    assert still < 0.2 < 0.5 < moving, (still, moving)
