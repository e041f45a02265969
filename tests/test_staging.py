"""The staging probe's 180-degree readings on synthetic faces: split tracks, gaze over time, clothes."""

from __future__ import annotations

import numpy as np

from diagnosers.media import ClipMedia
from diagnosers.probes.faces import Face, Track, stage_order
from diagnosers.probes.features import Span
from diagnosers.probes.staging import side_disagreements
from scenes import load_suite


def _scene(scene_id: str):
    return next(s for s in load_suite("default").scenes if s.id == scene_id)


def _media(scene, tracks: list[Track], windows: dict, frames: np.ndarray | None = None) -> ClipMedia:
    n = len(scene.shots)
    frames = np.zeros((10 * n, 180, 320, 3), np.uint8) if frames is None else frames
    media = ClipMedia.from_arrays(frames, np.zeros(16000, np.float32), scene, fps=5.0)
    media.feature("faces:tracks", lambda m: tracks)
    media.feature("faces:windows", lambda m: windows)
    media.feature("shot_spans", lambda m: [Span(2.0 * k, 2.0 * k + 2.0) for k in range(n)])
    return media


def test_a_face_split_into_two_tracks_still_reads_as_one_single():
    scene = _scene("case-precinct")  # shot 1: a single of malik, the left of two
    assert stage_order(scene)[0] == "malik" and scene.shots[1].subjects == ["malik"]
    right = 160 + 35  # framed on the right: mirrored
    halves = [Track([Face(2.0 + t, right, 60, 20) for t in ts]) for ts in ((0.4, 0.6), (1.2, 1.4))]
    assert side_disagreements(_media(scene, halves, {}))[1] > 0


def test_a_middle_single_looks_at_the_last_speaker_then_at_its_addressee():
    scene = _scene("heist-morning")  # shot 2: lou (middle of three) says line 1 to marguerite (left) after benny (right)
    order = stage_order(scene)
    assert order == ["marguerite", "lou", "benny"] and scene.shots[2].subjects == ["lou"]
    assert scene.lines[0].speaker == "benny" and scene.lines[1].addressee == "marguerite"
    windows = {0: (1.0, 3.0), 1: (5.0, 6.0)}  # benny speaks before the cut, lou late in the shot

    def single(between: float, during: float) -> float:
        faces = [Face(t, 160, 60, 20, turn=between, look=between) for t in (4.2, 4.4, 4.6)]
        faces += [Face(t, 160, 60, 20, turn=during, look=during) for t in (5.2, 5.4, 5.6)]
        return side_disagreements(_media(scene, [Track(faces)], windows))[2]

    assert single(0.2, -0.2) < 0  # toward benny (right), then toward marguerite (left): as staged
    assert single(-0.2, 0.2) > 0  # both the other way: a mirrored shot


def test_a_two_shot_whose_clothes_swap_sides_reads_as_mirrored():
    scene = _scene("case-precinct")  # shot 0: malik and vera side by side; shots 1, 2: their singles
    red, blue = (200, 30, 30), (30, 30, 200)

    def two_shot(left_colour, right_colour) -> float:
        frames = np.full((10 * len(scene.shots), 180, 320, 3), 90, np.uint8)
        tracks = []
        for x, colour, shot in ((100, left_colour, 0), (220, right_colour, 0), (125, red, 1), (195, blue, 2)):
            faces = [Face(2.0 * shot + t, x, 60, 10) for t in (0.4, 0.8, 1.2, 1.6)]
            for f in faces:
                frames[int(round(f.t * 5)), 80:110, x - 14:x + 15] = colour  # the torso under the face
            tracks.append(Track(faces))
        return side_disagreements(_media(scene, tracks, {}, frames))[0]

    assert two_shot(red, blue) < 0  # malik (red in his single) on the left as staged
    assert two_shot(blue, red) > 0
