"""The `motion` and `cuts` probes on small synthetic clips (frames in memory, no rendering, no models)."""

from __future__ import annotations

import numpy as np
import pytest

from diagnosers.media import ClipMedia
from diagnosers.probes import measure_all
from diagnosers.probes.align import LineSpan
from diagnosers.probes.features import Span
from scenes import load_suite
from scenes.vocabulary import Movement, ShotSize

FPS = 12.5
H, W = 180, 320


@pytest.fixture(scope="module")
def scene():
    """kitchen-quarrel, line 3 (tom, medium shot) slams a plate; its push-in is made a static shot here."""
    return _with_movement(load_suite("mini").scene("kitchen-quarrel"), 3, Movement.static)


def _with_movement(scene, line: int, movement):
    shots = [sh.model_copy(update={"movement": movement}) if line in sh.lines else sh for sh in scene.shots]
    return scene.model_copy(update={"shots": shots})


def _backdrop(seed: int = 0) -> np.ndarray:
    """A smooth textured picture (blurred noise) with a horizon, RGB uint8."""
    import cv2

    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.normal(0, 1, (H, W)).astype(np.float32), (0, 0), 6)
    img = 110 + 60 * noise / (np.abs(noise).max() + 1e-6)
    img[H // 2:] -= 30
    return np.repeat(np.clip(img, 0, 255).astype(np.uint8)[..., None], 3, axis=2)


def _talking(n: int, arm: bool = False, freeze: tuple[int, int] | None = None) -> np.ndarray:
    """A backdrop with a mouth that opens and shuts every frame; optionally an arm raised through the body
    region, and a stretch of frames that repeats one frame (a frozen picture)."""
    base = _backdrop()
    frames = np.repeat(base[None], n, axis=0)
    for k in range(n):
        if k % 2:
            frames[k, 56:64, 156:168] = 30  # the mouth, open
        if arm and 10 <= k < 30:
            top = int(150 - 5.5 * (k - 10))
            frames[k, top: top + 40, 220:236] = 230
    if freeze is not None:
        a, b = freeze
        frames[a:b] = frames[a - 1]
    return frames


def _media(frames: np.ndarray, scene, spans: dict[int, tuple[float, float]] | None = None) -> ClipMedia:
    media = ClipMedia.from_arrays(frames, np.zeros(int(16000 * len(frames) / FPS), np.float32), scene, fps=FPS)
    if spans is not None:  # line placement is the aligner's job (tested elsewhere); give it here, skipping the speech model
        aligned = [LineSpan(i, Span(*spans[i]) if i in spans else None) for i in range(len(scene.lines))]
        media.feature("line_alignment", lambda m: aligned)
    return media


def test_frozen_video_is_the_longest_still_stretch(scene):
    moving = measure_all(_media(_talking(60), scene, {}), {"sf.frozen_video"})["sf.frozen_video"]
    frozen = measure_all(_media(_talking(60, freeze=(20, 40)), scene, {}), {"sf.frozen_video"})["sf.frozen_video"]
    assert moving.score < 0.2 and not moving.windows
    assert frozen.score == pytest.approx(20 / FPS, abs=0.1)
    start, end, score = frozen.windows[0]
    assert start == pytest.approx(20 / FPS, abs=0.1) and end == pytest.approx(40 / FPS, abs=0.1)
    assert score == frozen.score


def test_frozen_video_needs_no_speech(scene):
    """A silent clip (no speech found) whose picture stops for 1.6 s still reads as frozen."""
    frozen = measure_all(_media(_talking(50, freeze=(15, 35)), scene, {}), {"sf.frozen_video"})["sf.frozen_video"]
    assert frozen.score >= 1.5


def test_action_missing_is_high_for_a_talking_head_and_low_for_a_raised_arm(scene):
    spans = {3: (0.4, 3.6)}
    still = measure_all(_media(_talking(50), scene, spans), {"mp.action_missing"})["mp.action_missing"]
    acted = measure_all(_media(_talking(50, arm=True), scene, spans), {"mp.action_missing"})["mp.action_missing"]
    assert set(still.lines) == {3} and set(acted.lines) == {3}  # only the line with a scripted action
    assert still.lines[3] > acted.lines[3] + 1.0, (still.lines, acted.lines)
    assert still.score == still.lines[3]


def _zoomed(frames: np.ndarray, per_frame: float) -> np.ndarray:
    """Each frame zoomed about the centre by (1 + per_frame) ** k: a push-in."""
    return np.stack([_zoom(f, (1.0 + per_frame) ** k, 0.0) for k, f in enumerate(frames)])


def test_action_missing_undoes_a_push_in(scene):
    """A push-in enlarges the whole picture; with the camera undone a talking head still reads as
    missing its action and a raised arm as performing it."""
    pushed = _with_movement(scene, 3, Movement.push_in)
    spans = {3: (0.4, 3.6)}
    still = measure_all(_media(_zoomed(_talking(50), 0.004), pushed, spans), {"mp.action_missing"})["mp.action_missing"]
    acted = measure_all(_media(_zoomed(_talking(50, arm=True), 0.004), pushed, spans), {"mp.action_missing"})["mp.action_missing"]
    assert set(still.lines) == {3} and set(acted.lines) == {3}
    assert still.lines[3] > acted.lines[3] + 1.0, (still.lines, acted.lines)


@pytest.mark.parametrize("movement", [Movement.pan_left, Movement.handheld])
def test_action_missing_is_not_measured_in_a_pan_or_hand_held(scene, movement):
    """A pan or a hand-held sway slides the set and the figures by different amounts: not measured (decision 198)."""
    moving = _with_movement(scene, 3, movement)
    ms = measure_all(_media(_talking(50, arm=True), moving, {3: (0.4, 3.6)}), {"mp.action_missing"})["mp.action_missing"]
    assert ms.lines == {} and ms.score is None


def test_action_missing_is_measured_in_an_extreme_close_up(scene):
    """Extreme close-ups are measured (decision 198): the raised arm still reads lower than the talking head."""
    shots = [sh.model_copy(update={"size": ShotSize.extreme_close_up}) if 3 in sh.lines else sh for sh in scene.shots]
    tight = scene.model_copy(update={"shots": shots})
    spans = {3: (0.4, 3.6)}
    still = measure_all(_media(_talking(50), tight, spans), {"mp.action_missing"})["mp.action_missing"]
    acted = measure_all(_media(_talking(50, arm=True), tight, spans), {"mp.action_missing"})["mp.action_missing"]
    assert set(still.lines) == {3} and still.lines[3] > acted.lines[3] + 1.0, (still.lines, acted.lines)


def test_action_line_without_speech_gets_its_share_of_its_shot(scene):
    """A line the aligner did not find is measured over its share of its scripted shot, when the clip
    has as many detected shots as the script (kitchen-quarrel: three shots, line 3 alone in the last)."""
    from diagnosers.probes.actions import line_windows

    media = _media(_talking(50), scene, {})
    media.feature("shot_spans", lambda m: [Span(0.0, 0.8), Span(0.8, 1.6), Span(1.6, 4.0)])
    assert line_windows(media)[3] == Span(1.6, 4.0)
    other = _media(_talking(50), scene, {})
    other.feature("shot_spans", lambda m: [Span(0.0, 1.6), Span(1.6, 4.0)])
    assert 3 not in line_windows(other)  # shot counts differ: no guess


def test_action_missing_reads_a_slow_lean_as_an_action(scene):
    """A figure block that drifts a few pixels a frame moves little between frames but far from the start."""
    frames = _talking(50)
    for k in range(50):
        x = 200 + min(k, 30)  # 1 px a frame for 30 frames, then held
        frames[k, 70:150, x: x + 24] = 200
    leaning = measure_all(_media(frames, scene, {3: (0.4, 3.6)}), {"mp.action_missing"})["mp.action_missing"]
    still = measure_all(_media(_talking(50), scene, {3: (0.4, 3.6)}), {"mp.action_missing"})["mp.action_missing"]
    assert still.lines[3] > leaning.lines[3] + 1.0, (still.lines, leaning.lines)


def test_action_missing_sees_an_arm_of_the_sets_brightness_by_its_colour(scene):
    """An arm as bright as the set behind it but of another hue (decision 209: a dark red arm over a dark
    set) reads as performing the action: the picture is compared in colour, not in luma alone."""
    frames = _talking(50)
    for k in range(10, 30):
        top = int(150 - 5.5 * (k - 10))
        patch = frames[k, top: top + 40, 220:236].astype(np.int16)
        # +60 red, +60 blue and -42 green keep OpenCV's luma (0.299 R + 0.587 G + 0.114 B) within a level
        frames[k, top: top + 40, 220:236] = np.clip(patch + np.array([60, -42, 60]), 0, 255).astype(np.uint8)
    spans = {3: (0.4, 3.6)}
    acted = measure_all(_media(frames, scene, spans), {"mp.action_missing"})["mp.action_missing"]
    still = measure_all(_media(_talking(50), scene, spans), {"mp.action_missing"})["mp.action_missing"]
    assert still.lines[3] > acted.lines[3] + 1.0, (still.lines, acted.lines)


def test_action_missing_is_not_measured_on_a_frozen_line(scene):
    spans = {3: (0.4, 3.6)}
    frozen = measure_all(_media(_talking(50, arm=True, freeze=(4, 46)), scene, spans), {"mp.action_missing"})
    assert frozen["mp.action_missing"].lines == {} and frozen["mp.action_missing"].score is None


def _jump(after: np.ndarray) -> np.ndarray:
    """20 frames of one picture, then 20 of `after` (a cut at frame 20)."""
    return np.concatenate([np.repeat(_backdrop()[None], 20, axis=0), np.repeat(after[None], 20, axis=0)])


def _zoom(img: np.ndarray, zoom: float, shift: float) -> np.ndarray:
    import cv2

    m = np.float32([[zoom, 0, (1 - zoom) * W / 2 + shift * W], [0, zoom, (1 - zoom) * H / 2]])
    return cv2.warpAffine(img, m, (W, H), borderMode=cv2.BORDER_REPLICATE)


def test_jump_cut_scores_a_small_reframing_over_a_new_set_up(scene):
    mode = "ig.30_degree_rule_violation"
    jump = measure_all(_media(_jump(_zoom(_backdrop(), 1.1, 0.035)), scene), {mode})[mode]
    other = _backdrop(seed=5)
    other = np.clip(other.astype(np.int16) - 60, 0, 255).astype(np.uint8)  # another place, other tones
    cut = measure_all(_media(_jump(other), scene), {mode})[mode]
    assert jump.score > 0.6, jump.score
    assert cut.score < 0.3, cut.score
    start, end, _ = max(jump.windows, key=lambda w: w[2])
    assert start <= 20 / FPS <= end
