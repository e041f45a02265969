"""Grading probes on synthetic pictures: a set that changes colour between shots (backdrop drift).

The clips are drawn in memory (`ClipMedia.from_arrays`): a wall and a floor, and per shot a
"figure" block of its own colour, size and place, so that every cut changes the framing.
"""

from __future__ import annotations

import numpy as np

from diagnosers.media import ClipMedia
from diagnosers.probes.features import shot_spans
from diagnosers.probes.backdrop import backdrop_change, shot_colour_hists

FPS = 12.5
SHOT_FRAMES = 25  # 2 s per shot
WALL = (200, 180, 150)
REPAINTED = (70, 150, 190)
FLOOR = (110, 80, 60)
MIDDLE = (30, 160, 90)  # e.g. a character's clothes that change from a shot on (look change)
# shading across the set (±40 levels, smooth): a drifting grade moves colours from bin to bin gradually
TEXTURE = (40.0 * np.sin(np.linspace(0, 3 * np.pi, 160))[None, :] * np.cos(np.linspace(0, 2 * np.pi, 90))[:, None]).astype(np.float32)
FIGURES = [  # (colour, left, right, top) as frame shares: a different figure and framing per shot
    ((200, 40, 46), 0.25, 0.55, 0.35),
    ((46, 90, 190), 0.45, 0.85, 0.15),
    ((236, 200, 50), 0.15, 0.45, 0.25),
    ((52, 140, 70), 0.50, 0.80, 0.30),
    ((140, 90, 200), 0.30, 0.70, 0.10),
]


def _clip(repaint_from: int | None = None, tint: tuple[float, float, float] = (1.0, 1.0, 1.0),
          drift_to: tuple[float, float, float] | None = None, darker_floor_from: int | None = None, scene=None,
          middle_from: int | None = None) -> ClipMedia:
    h, w = 90, 160
    frames = []
    for s, (colour, left, right, top) in enumerate(FIGURES):
        wall = REPAINTED if repaint_from is not None and s >= repaint_from else WALL
        horizon = int(h * (0.55 + 0.05 * (s % 3)))  # the framing moves the horizon too
        base = np.empty((h, w, 3), np.uint8)
        base[:horizon] = wall
        base[horizon:] = FLOOR if darker_floor_from is None or s < darker_floor_from else tuple(int(0.7 * c) for c in FLOOR)
        base[int(h * top):, int(w * left): int(w * right)] = colour
        if middle_from is not None and s >= middle_from:  # the same new colour in the middle of the frame
            base[int(h * 0.3):, int(w * 0.3): int(w * 0.7)] = MIDDLE
        base = base.astype(np.float32) * np.asarray(tint, np.float32)
        base = np.clip(base + TEXTURE[:h, :w, None], 0, 255).astype(np.uint8)
        for k in range(SHOT_FRAMES):
            f = base.copy()
            f[int(h * top) + (k % 3)] = colour  # a little motion inside the shot
            if drift_to is not None:  # a grade walking steadily from none to `drift_to` over the clip
                u = (s * SHOT_FRAMES + k) / (len(FIGURES) * SHOT_FRAMES - 1)
                gain = 1.0 + u * (np.asarray(drift_to, np.float32) - 1.0)
                f = np.clip(f.astype(np.float32) * gain, 0, 255).astype(np.uint8)
            frames.append(f)
    audio = np.zeros(int(len(frames) / FPS * 16000), np.float32)
    return ClipMedia.from_arrays(np.stack(frames), audio, scene, fps=FPS)


def test_every_cut_of_the_synthetic_clip_is_a_shot():
    media = _clip()
    assert len(shot_spans(media)) == len(FIGURES)
    hists = shot_colour_hists(media)
    assert len(hists) == len(FIGURES)
    assert all(h.shape[0] == 3 and np.allclose(h.sum(axis=1), 1.0) for h in hists)  # three frames per shot


def test_a_repainted_wall_from_a_cut_on_is_found_at_that_cut():
    clean, _ = backdrop_change(_clip())
    drift, windows = backdrop_change(_clip(repaint_from=3))
    assert drift > clean + 0.3, (drift, clean)
    ((start, end, score),) = windows
    assert abs(start - 3 * SHOT_FRAMES / FPS) < 0.2  # the window starts at the cut into shot 3
    assert end >= 4 * SHOT_FRAMES / FPS and score == drift


def test_a_grade_over_the_whole_clip_is_no_set_change():
    clean, _ = backdrop_change(_clip())
    tinted, _ = backdrop_change(_clip(tint=(0.75, 0.95, 1.25)))  # a cold grade on every shot
    assert tinted < clean + 0.1, (tinted, clean)


def test_a_new_colour_in_the_middle_of_the_frame_is_no_set_change():
    """Indoors the set is read on the frame's border: a colour that the figures in the middle wear
    from a cut on (clothes that change) counts far less than the wall around them repainted."""
    middle, _ = backdrop_change(_clip(middle_from=3))
    repainted, _ = backdrop_change(_clip(repaint_from=3))
    assert middle < 0.3 * repainted, (middle, repainted)


def test_a_change_in_the_last_shot_alone_counts_half():
    """A side of one shot is as often a framing of its own (an over-the-shoulder last) as a set change."""
    last, windows = backdrop_change(_clip(repaint_from=4))
    before_last, _ = backdrop_change(_clip(repaint_from=3))
    assert abs(windows[0][0] - 4 * SHOT_FRAMES / FPS) < 0.2
    assert 0.3 * before_last < last < 0.7 * before_last, (last, before_last)


def test_a_single_shot_has_nothing_to_compare():
    media = _clip()
    one = ClipMedia.from_arrays(media.frames[:SHOT_FRAMES], np.zeros(32000, np.float32), None, fps=FPS)
    assert backdrop_change(one) == (0.0, [])


def test_a_grade_drifting_over_the_scene_counts_less_than_a_repainted_wall():
    warm_to_cold = (0.6, 0.9, 1.4)
    drifting, _ = backdrop_change(_clip(drift_to=warm_to_cold))
    repainted, _ = backdrop_change(_clip(repaint_from=3))
    assert drifting < 0.5 * repainted, (drifting, repainted)


def test_a_mirrored_shot_puts_its_character_on_the_wrong_side(tmp_path):
    """180-degree rule on two rendered clips of the mini scene: the axis jump (Mara's close-up
    mirrored) reads higher than the clean clip that keeps the script's staging. Only the probe's
    output is checked: its observations are the staging probe's own business (tests/test_face_probes.py)."""
    from diagnosers.probes.staging import staging
    from generators import build_generator
    from scenes import load_suite

    scene = load_suite("mini").scene("kitchen-quarrel")
    scores = {}
    for name, spec in {"clean": "procedural:clean", "mirrored": "procedural?faults=axis_jump"}.items():
        r = build_generator(spec).render(scene, 3, tmp_path / name)
        media = ClipMedia.open(r.video_path, scene, fps=12.5, size=(320, 180), luma_width=640)
        scores[name] = staging.measure(media)[0]
    assert scores["mirrored"].score > scores["clean"].score, (scores["mirrored"].score, scores["clean"].score)
    assert scores["mirrored"].windows


def _outdoors():
    from scenes import load_suite

    scene = load_suite("mini").scene("kitchen-quarrel")
    return scene.model_copy(update={"setting": scene.setting.model_copy(update={"interior": False})})


def test_outdoors_a_darker_ground_is_a_set_change_and_the_sky_is_left_out():
    """Outdoors the lower half is read with fine value levels: ground darkened by 30 % from a cut on
    is found; the upper half (sky) changing is not what a set change outdoors looks like."""
    outdoors = _outdoors()
    clean, _ = backdrop_change(_clip(scene=outdoors))
    darker, windows = backdrop_change(_clip(darker_floor_from=3, scene=outdoors))
    sky, _ = backdrop_change(_clip(repaint_from=3, scene=outdoors))
    assert darker > clean + 0.1, (darker, clean)
    assert abs(windows[0][0] - 3 * SHOT_FRAMES / FPS) < 0.2
    assert sky < darker, (sky, darker)
