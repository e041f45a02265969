"""The staging probe's 180-degree readings on synthetic faces: split tracks, gaze over time, clothes,
and the scripted shots assigned to the detected ones in order."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from diagnosers.media import ClipMedia
from diagnosers.probes.faces import Face, Track, stage_order
from diagnosers.probes.features import Span
from diagnosers.probes.shot_assignment import GUESS_MARGIN, assign_cuts, assigned_spans
from diagnosers.probes.staging import scripted_shot_spans, side_disagreements
from scenes import load_suite


def _scene(scene_id: str):
    return next(s for s in load_suite("default").scenes if s.id == scene_id)


def _media(scene, tracks: list[Track], windows: dict, frames: np.ndarray | None = None,
           detected: list[Span] | None = None) -> ClipMedia:
    n = len(scene.shots)
    frames = np.zeros((10 * n, 180, 320, 3), np.uint8) if frames is None else frames
    media = ClipMedia.from_arrays(frames, np.zeros(16000, np.float32), scene, fps=5.0)
    media.feature("faces:tracks", lambda m: tracks)
    media.feature("faces:windows", lambda m: windows)
    media.feature("shot_spans", lambda m: detected or [Span(2.0 * k, 2.0 * k + 2.0) for k in range(n)])
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


def _script(shot_lines: list[list[int]], durations: list[float | None] | None = None):
    """A scene stand-in for the shot assignment: shots with their lines (and a line-less shot's length)."""
    durations = durations or [None] * len(shot_lines)
    shots = [SimpleNamespace(lines=ls, duration_s=d) for ls, d in zip(shot_lines, durations)]
    n = 1 + max((i for ls in shot_lines for i in ls), default=-1)
    return SimpleNamespace(shots=shots, lines=[SimpleNamespace(pause_before_s=0.35) for _ in range(n)])


def test_an_extra_cut_inside_a_shot_is_left_unmatched():
    script = _script([[], [0, 1], [2], [3]], [2.0, None, None, None])
    lines = {0: (2.3, 4.0), 1: (4.3, 6.0), 2: (6.3, 8.0), 3: (8.3, 10.0)}
    detected = [(0.0, 2.0), (2.0, 4.9), (4.9, 6.0), (6.0, 8.0), (8.0, 10.5)]  # a hand-held shot cut at 4.9
    assert assign_cuts(script, lines, [a for a, _ in detected[1:]], 10.5) == [2.0, 6.0, 8.0]
    assert assigned_spans(script, lines, detected, 10.5) == [(0.0, 2.0), (2.0, 6.0), (6.0, 8.0), (8.0, 10.5)]


def test_a_missed_cut_is_placed_where_the_lines_put_it_clear_of_a_frozen_face():
    script = _script([[0], [1], [2]])
    lines = {0: (0.5, 3.0), 1: (3.4, 6.0), 2: (6.4, 9.0)}
    detected = [(0.0, 6.0), (6.0, 9.5)]  # the cut at 3.0 not detected
    assert assign_cuts(script, lines, [6.0], 9.5) == [None, 6.0]
    spans = assigned_spans(script, lines, detected, 9.5)
    assert spans == [(0.0, 3.0 - GUESS_MARGIN), (3.0 + GUESS_MARGIN, 6.0), (6.0, 9.5)]
    # the first shot's face held on past the cut (a frozen picture): the cut goes where it stops
    frozen = [Track([Face(0.32 * k, 100, 60, 20) for k in range(13)])]  # seen every 0.32 s up to 3.84
    start = assigned_spans(script, lines, detected, 9.5, frozen)[1][0] - GUESS_MARGIN
    assert 3.84 < start < 4.0


def test_a_shot_split_by_an_extra_cut_is_read_between_its_own_cuts():
    scene = _scene("case-precinct")  # shot 1: a single of malik (left), shot 2: a single of vera (right)
    assert scene.shots[1].subjects == ["malik"] and scene.shots[2].subjects == ["vera"]
    n = len(scene.shots)
    detected = [Span(2.0 * k, 2.0 * k + 2.0) for k in range(n)]
    detected[2:3] = [Span(4.0, 4.6), Span(4.6, 6.0)]  # a flicker early in vera's shot
    lines = {i: (2.0 * k + 0.3, 2.0 * k + 1.7) for k, shot in enumerate(scene.shots) for i in shot.lines}
    tracks = [Track([Face(2.0 + t, 125, 60, 20) for t in (0.4, 0.8, 1.2, 1.6)]),
              Track([Face(4.0 + t, 195, 60, 20) for t in (0.4, 0.8, 1.2, 1.6)])]
    media = _media(scene, tracks, lines, detected=detected)
    media.feature("line_alignment", lambda m: [SimpleNamespace(index=i, span=Span(*w)) for i, w in lines.items()])
    # before: each shot's line windows (± 0.2 s), vera's clipped to the piece after the flicker
    assert scripted_shot_spans(media)[1:3] == [(2.0, 4.0), (4.0, 6.0)]
    per_shot = side_disagreements(media)
    assert per_shot[1] < 0 and per_shot[2] < 0  # both framed as staged
