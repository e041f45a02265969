"""Injected faults are really in the media: each is measured from the decoded MP4 (the manifest only says where to look)."""

from __future__ import annotations

import av
import numpy as np
import pytest

from generators import build_generator
from generators.procedural import CATALOGUE, CONTROLLED_MODES, FAULT_NAMES
from scenes import Scene, load_suite
from taxonomy import load_taxonomy

SMALL = "width=320&height=180"
QUIET = f"music=false&ambience=false&sound_cues=false&{SMALL}"
FPS = 25

SOLO = Scene.model_validate({
    "id": "solo", "title": "Talking head",
    "setting": {"location": "office", "interior": True, "time_of_day": "day", "brightness": "normal", "palette": "neutral"},
    "atmosphere": {"mood": "neutral"},
    "characters": [{"id": "kim", "name": "Kim", "look": "grey shirt, short black hair", "voice": {"gender": "female", "pitch": 3}},
                   {"id": "lou", "name": "Lou", "look": "green jacket, bald", "voice": {"gender": "male", "pitch": -4}}],
    "lines": [{"speaker": "kim", "text": "One, two, three. Four, five, six.", "addressee": "lou", "delivery": "shout"},
              {"speaker": "kim", "text": "Seven and eight, then nine and ten.", "addressee": "lou", "pause_before_s": 0.8}],
    "shots": [{"size": "close_up", "subjects": ["kim"], "lines": [0, 1]}],
})
DUO = Scene.model_validate({
    "id": "duo", "title": "Two at a table",
    "setting": {"location": "small kitchen", "interior": True, "time_of_day": "day"},
    "atmosphere": {"mood": "warm", "music": {"mood": "warm", "intensity": 0.4}, "ambience": ["fridge hum"]},
    "characters": [
        {"id": "ana", "name": "Ana", "look": "slim, red coat, long black hair", "voice": {"gender": "female", "pitch": 5}},
        {"id": "ben", "name": "Ben", "look": "stocky, blue sweater, short brown hair", "voice": {"gender": "male", "pitch": -3}},
    ],
    "lines": [
        {"speaker": "ana", "text": "Did you bring the bread from the shop?", "emotion": "curious", "addressee": "ben"},
        {"speaker": "ben", "text": "I forgot it again, sorry.", "emotion": "guilty", "addressee": "ana", "pause_before_s": 0.6},
        {"speaker": "ana", "text": "Then we eat soup tonight, my friend.", "emotion": "amused", "addressee": "ben", "pause_before_s": 0.6},
    ],
    "shots": [
        {"size": "medium", "subjects": ["ana", "ben"], "lines": [0, 1]},
        {"size": "close_up", "subjects": ["ana"], "lines": [2]},
    ],
})


def decode(path) -> tuple[np.ndarray, np.ndarray, int]:
    with av.open(str(path)) as c:
        frames = np.stack([f.to_ndarray(format="rgb24") for f in c.decode(c.streams.video[0])])
    with av.open(str(path)) as c:
        rate = c.streams.audio[0].rate
        audio = np.concatenate([f.to_ndarray().mean(axis=0) for f in c.decode(c.streams.audio[0])])
    return frames, audio.astype(np.float32), rate


def render(tmp_path_factory, scene: Scene, query: str, seed: int = 0):
    gen = build_generator(f"procedural:clean?{query}")
    rendered = gen.render(scene, seed, tmp_path_factory.mktemp(scene.id))
    frames, audio, sr = decode(rendered.video_path)
    return rendered.manifest, frames, audio, sr


def rms(audio: np.ndarray, sr: int, a: float, b: float) -> float:
    seg = audio[int(a * sr):int(b * sr)]
    return float(np.sqrt(np.mean(seg.astype(np.float64) ** 2))) if len(seg) else 0.0


def mouth_pixels(frames: np.ndarray) -> np.ndarray:
    """Open-mouth area per frame in the middle of a close-up (where the face is)."""
    H, W = frames.shape[1:3]
    return mouth_pixels_in(frames[:, int(0.3 * H):int(0.85 * H), int(0.25 * W):int(0.75 * W)])


def speech_envelope(audio: np.ndarray, sr: int, n: int) -> np.ndarray:
    hop = sr // FPS
    return np.array([rms(audio, sr, k / FPS, (k + 1) / FPS) for k in range(n)]) if hop else np.zeros(n)


def best_lag(mouth: np.ndarray, env: np.ndarray, max_lag: int = 15) -> int:
    """Frames by which the mouth lags the voice (positive) or leads it (negative), by cross-correlation."""
    z = lambda x: (x - x.mean()) / (x.std() + 1e-9)
    m, e = z(mouth), z(env)
    n = len(m)
    scores = {lag: float(np.mean(m[max(0, lag):n + min(0, lag)] * e[max(0, -lag):n - max(0, lag)])) for lag in range(-max_lag, max_lag + 1)}
    return max(scores, key=scores.get)


@pytest.fixture(scope="module")
def solo_clean(tmp_path_factory):
    return render(tmp_path_factory, SOLO, QUIET)


@pytest.fixture(scope="module")
def duo_clean(tmp_path_factory):
    return render(tmp_path_factory, DUO, QUIET)


def test_catalogue_covers_the_issue_and_maps_to_real_modes():
    ids = {m.id for m in load_taxonomy().modes}
    assert len(CATALOGUE) >= 24
    for fault in CATALOGUE:
        assert fault.modes and set(fault.modes) <= ids, fault.name
    assert "ec.artificial_environment" not in CONTROLLED_MODES  # a drawn clip always shows it: never claim to know
    assert {"lip_sync_offset", "frozen_picture", "axis_jump", "voice_swap", "dead_air", "music_opposite"} <= set(FAULT_NAMES)


def test_random_preset_puts_each_fault_in_about_half_the_clips():
    gen = build_generator("procedural:random")
    suite = load_suite("mini")
    hits: dict[str, int] = {}
    seeds = range(60)
    for seed in seeds:
        for name in {f.name for f in gen.plan(suite.scene("park-bench"), seed)}:
            hits[name] = hits.get(name, 0) + 1
    rates = {name: hits.get(name, 0) / len(seeds) for name in ("lip_sync_offset", "dead_air", "axis_jump", "music_drift", "look_change")}
    assert all(0.25 <= r <= 0.65 for r in rates.values()), rates


def test_lip_sync_offset_is_measured_between_mouth_pixels_and_speech(tmp_path_factory, solo_clean):
    _, frames, audio, sr = solo_clean
    assert abs(best_lag(mouth_pixels(frames), speech_envelope(audio, sr, len(frames)))) <= 1
    manifest, frames, audio, sr = render(tmp_path_factory, SOLO, f"{QUIET}&faults=lip_sync_offset&severity=1")
    (fault,) = manifest.faults
    offset = fault.params["offset_s"]
    assert abs(offset) == pytest.approx(0.4)
    measured = best_lag(mouth_pixels(frames), speech_envelope(audio, sr, len(frames))) / FPS
    assert abs(measured - offset) <= 2 / FPS, (measured, offset)


def test_dropped_line_is_silent_while_the_mouth_moves_and_whisper_replaces_a_shout(tmp_path_factory, solo_clean):
    clean, _, clean_audio, sr = solo_clean
    manifest, frames, audio, sr = render(tmp_path_factory, SOLO, f"{QUIET}&faults=dropped_line,wrong_speech_mode&severity=1")
    faults = {f.fault: f for f in manifest.faults}
    dropped = manifest.lines[faults["dropped_line"].line]
    assert rms(audio, sr, dropped.start, dropped.end) < 0.05 * rms(clean_audio, sr, dropped.start, dropped.end)
    span = slice(int(dropped.start * FPS), int(dropped.end * FPS))
    assert mouth_pixels(frames)[span].std() > 5  # lips keep moving over the silence
    mode = faults["wrong_speech_mode"]
    assert mode.params["delivered"] == "whisper" and mode.line != faults["dropped_line"].line
    spoken, scripted = manifest.lines[mode.line], clean.lines[mode.line]
    level = 20 * np.log10(rms(audio, sr, spoken.start, spoken.end) / rms(clean_audio, sr, scripted.start, scripted.end))
    assert level < -10, level


def test_frozen_picture_has_zero_motion_while_the_voice_runs(tmp_path_factory, duo_clean):
    clean, clean_frames, _, _ = duo_clean
    manifest, frames, audio, sr = render(tmp_path_factory, DUO, f"{QUIET}&faults=frozen_picture,dead_air,voice_swap&severity=1")
    frozen = next(f for f in manifest.faults if f.fault == "frozen_picture")
    a, b = int(np.ceil(frozen.start * FPS)) + 1, int(frozen.end * FPS) - 1

    def moved(fr, lo, hi):  # share of pixels that change by more than codec noise from one frame to the next
        return (np.abs(np.diff(fr[lo:hi].astype(np.int16), axis=0)).max(axis=3) > 24).mean(axis=(1, 2))

    assert b - a >= 40 and moved(frames, a, b).max() < 1e-4, moved(frames, a, b)
    assert rms(audio, sr, frozen.start, frozen.end) > 0.01  # sound goes on
    shift = clean.lines[frozen.line].start - manifest.lines[frozen.line].start  # dead air moves later lines
    ca, cb = a + int(round(shift * FPS)), b + int(round(shift * FPS))
    assert np.median(moved(clean_frames, ca, cb)) > 5e-4  # the same span moves in the clean render


def test_robotic_movement_holds_a_figure_still_in_its_shot(tmp_path_factory, duo_clean):
    clean, clean_frames, _, _ = duo_clean
    manifest, frames, _, _ = render(tmp_path_factory, DUO, f"{QUIET}&faults=robotic_movement")
    (fault,) = [f for f in manifest.faults if f.fault == "robotic_movement"]
    shot = manifest.shots[fault.shot]
    assert (fault.start, fault.end) == (shot.start, shot.end) and fault.params["character"] in shot.subjects
    W = frames.shape[2]
    x = int(shot.positions[fault.params["character"]] * W)
    a, b = int(np.ceil(shot.start * FPS)) + 1, int(shot.end * FPS) - 1

    def head_top(fr):  # per frame, the first row (from the top) where the figure's column band departs from the set
        band = fr[a:b, :, x - 3:x + 4].astype(np.int16)
        rows = np.abs(band - band[:, :1]).max(axis=(2, 3)) > 40
        return rows.argmax(axis=1)

    still, breathing = head_top(frames), head_top(clean_frames)
    assert b - a >= 25
    assert abs(np.median(still) - np.median(breathing)) <= 3  # the same head's top, in both renders
    assert np.ptp(still) == 0  # not a pixel of breathing
    assert np.ptp(breathing) >= 2  # the same figure breathes in the clean render


@pytest.mark.parametrize("seed", [0, 2, 4])  # a drift, a creep and a shake
def test_unmotivated_camera_moves_the_set_in_a_static_shot(tmp_path_factory, duo_clean, seed):
    import cv2

    _, clean_frames, _, _ = duo_clean
    manifest, frames, _, _ = render(tmp_path_factory, DUO, f"{QUIET}&faults=unmotivated_camera", seed=seed)
    (fault,) = [f for f in manifest.faults if f.fault == "unmotivated_camera"]
    shot = manifest.shots[fault.shot]
    assert (fault.start, fault.end) == (shot.start, shot.end) and shot.movement == "static"
    a, b = int(np.ceil(shot.start * FPS)) + 1, int(shot.end * FPS) - 1

    def set_moved(fr):  # the top strip is the set behind the heads: its largest change from the shot's first frame
        top = [cv2.cvtColor(fr[k, :12], cv2.COLOR_RGB2GRAY).astype(np.float32) for k in range(a, b)]
        return max(float(np.abs(t - top[0]).mean()) for t in top)

    assert set_moved(clean_frames) < 1.0  # locked off in the clean render
    assert set_moved(frames) > 3.0, fault.params["move"]
    if fault.shot == 0:  # frames before the next shot are otherwise the clean render's
        return
    assert np.array_equal(frames[:int(shot.start * FPS) - 1], clean_frames[:int(shot.start * FPS) - 1])


def test_focus_hunt_softens_one_window_of_one_shot(tmp_path_factory, duo_clean):
    import cv2

    _, clean_frames, _, _ = duo_clean
    manifest, frames, _, _ = render(tmp_path_factory, DUO, f"{QUIET}&faults=focus_hunt")
    (fault,) = [f for f in manifest.faults if f.fault == "focus_hunt"]
    shot = manifest.shots[fault.shot]
    assert shot.start < fault.start < fault.end < shot.end and 2.9 <= fault.params["peak_blur_px"] <= 4.0

    def detail(fr, k):  # fine detail: mean |Laplacian| of the luma
        return float(np.abs(cv2.Laplacian(cv2.cvtColor(fr[k], cv2.COLOR_RGB2GRAY), cv2.CV_32F)).mean())

    peak = int(round(0.5 * (fault.start + fault.end) * FPS))
    assert detail(frames, peak) < 0.6 * detail(clean_frames, peak)  # soft at the hunt's peak (the render is 320 wide)

    def off(a, b):  # mean |difference| from the clean render (frames coded from soft ones keep a level or two)
        return float(np.abs(frames[a:b].astype(np.int16) - clean_frames[a:b]).mean())

    before, after = int(fault.start * FPS) - 1, int(np.ceil(fault.end * FPS)) + 1
    assert off(0, before) < 0.5 and off(after, len(frames)) < 2.0  # the clean render's picture outside the hunt
    assert off(peak - 2, peak + 3) > 2 * off(after, len(frames))


def test_wrong_shot_size_frames_its_shot_as_a_script_of_that_size_would(tmp_path_factory, duo_clean):
    _, clean_frames, _, _ = duo_clean
    manifest, frames, _, _ = render(tmp_path_factory, DUO, f"{QUIET}&faults=wrong_shot_size")
    (fault,) = [f for f in manifest.faults if f.fault == "wrong_shot_size"]
    shot = manifest.shots[fault.shot]
    assert (fault.start, fault.end) == (shot.start, shot.end) and shot.size == fault.params["scripted_size"]
    assert fault.params["size"] != shot.size
    # the same picture as a clean render of a script that asks for that size there
    shots = [s.model_dump() for s in DUO.shots]
    shots[fault.shot]["size"] = fault.params["size"]
    resized = Scene.model_validate(DUO.model_dump() | {"shots": shots})
    _, asked, _, _ = render(tmp_path_factory, resized, QUIET)
    a, b = int(np.ceil(shot.start * FPS)) + 1, int(shot.end * FPS) - 1
    assert np.abs(frames[a:b].astype(np.int16) - asked[a:b]).mean() < 0.5
    assert np.abs(frames[a:b].astype(np.int16) - clean_frames[a:b]).mean() > 10.0  # and not the scripted framing
    if fault.shot:
        assert np.array_equal(frames[:int(shot.start * FPS) - 1], clean_frames[:int(shot.start * FPS) - 1])


def test_subject_at_edge_pushes_a_single_to_the_frame_edge(tmp_path_factory):
    # a medium single (a close-up's face fills too much of the frame to be pushed aside)
    shots = [s.model_dump() for s in DUO.shots]
    shots[1]["size"] = "medium"
    scene = Scene.model_validate(DUO.model_dump() | {"shots": shots})
    clean, clean_frames, _, _ = render(tmp_path_factory, scene, QUIET)
    manifest, frames, _, _ = render(tmp_path_factory, scene, f"{QUIET}&faults=subject_at_edge")
    (fault,) = [f for f in manifest.faults if f.fault == "subject_at_edge"]
    shot = manifest.shots[fault.shot]
    (who,) = shot.subjects
    scripted_x = clean.shots[fault.shot].positions[who]
    assert abs(scripted_x - 0.5) < 0.15 and abs(fault.params["x"] - 0.5) > 0.25 and abs(shot.positions[who] - fault.params["x"]) < 1e-3
    side = np.sign(fault.params["x"] - 0.5)
    W = frames.shape[2]
    a, b = int(np.ceil(shot.start * FPS)) + 1, int(shot.end * FPS) - 1
    changed = np.abs(frames[a:b].astype(np.int16) - clean_frames[a:b]).max(axis=3).mean(axis=(0, 1)) > 20  # per column
    cols = np.flatnonzero(changed)
    # the figure now stands near the edge on its side: the columns that changed reach within 10 % of that edge
    assert (cols.max() > 0.9 * W) if side > 0 else (cols.min() < 0.1 * W), (cols.min(), cols.max())
    assert np.array_equal(frames[:int(shot.start * FPS) - 1], clean_frames[:int(shot.start * FPS) - 1])


def test_dead_air_and_voice_swap_are_in_the_sound(tmp_path_factory, duo_clean):
    import librosa

    clean, _, clean_audio, sr = duo_clean
    manifest, _, audio, sr = render(tmp_path_factory, DUO, f"{QUIET}&faults=frozen_picture,dead_air,voice_swap&severity=1")
    faults = {f.fault: f for f in manifest.faults}
    # dead air: the longest quiet stretch in the audio is the injected one
    env = speech_envelope(audio, sr, int(len(audio) / sr * FPS))
    quiet = env < 0.1 * env.max()
    runs, start = [], None
    for k, q in enumerate(np.append(quiet, False)):
        if q and start is None:
            start = k
        elif not q and start is not None:
            runs.append((start / FPS, k / FPS))
            start = None
    inner = [r for r in runs if r[0] > 0.2 and r[1] < manifest.duration_s - 0.5]
    longest = max(inner, key=lambda r: r[1] - r[0])
    gap = faults["dead_air"]
    assert longest[1] - longest[0] >= 2.3
    assert abs(longest[0] - gap.start) < 0.15 and abs(longest[1] - gap.end) < 0.15

    def f0(aud, line):
        seg = aud[int(line.start * sr):int(line.end * sr)]
        pitch = librosa.yin(seg, fmin=60, fmax=500, sr=sr)
        return float(np.median(pitch))

    swap = faults["voice_swap"]
    assert swap.params["character"] == "ana" and swap.line == 2
    assert abs(12 * np.log2(f0(audio, manifest.lines[0]) / f0(clean_audio, clean.lines[0]))) < 1.0
    assert abs(12 * np.log2(f0(audio, manifest.lines[2]) / f0(clean_audio, clean.lines[2]))) > 4.0


def test_axis_jump_and_lighting_conflict_show_in_pixels(tmp_path_factory, duo_clean):
    clean, clean_frames, _, _ = duo_clean
    manifest, frames, _, _ = render(tmp_path_factory, DUO, f"{QUIET}&faults=axis_jump,lighting_conflict")
    assert {f.fault for f in manifest.faults} == {"axis_jump", "lighting_conflict"}
    shot = manifest.shots[1]

    def coat_x(fr, s):
        sl = fr[int(s.start * FPS) + 2:int(s.end * FPS) - 2].astype(np.int16)
        r, g, b = sl[..., 0], sl[..., 1], sl[..., 2]
        mask = (r > 1.8 * g) & (r > 1.6 * b) & (r > 25)
        return float(np.nonzero(mask)[2].mean() / fr.shape[2])

    assert coat_x(clean_frames, clean.shots[1]) < 0.5 < coat_x(frames, shot)  # Ana's red coat crosses the line
    luma = lambda f: float(f.astype(np.float32).mean())
    assert luma(frames) < 0.7 * luma(clean_frames)  # warm day scene sunk into darkness


def test_background_drowning_buries_the_dialogue_and_colour_conflict_turns_cold(tmp_path_factory):
    clean, clean_frames, clean_audio, sr = render(tmp_path_factory, DUO, f"sound_cues=false&{SMALL}")
    manifest, frames, audio, sr = render(tmp_path_factory, DUO, f"sound_cues=false&{SMALL}&faults=background_drowning,colour_conflict")
    warmth = lambda f: float(f[..., 0].astype(np.float32).mean() - f[..., 2].astype(np.float32).mean())
    assert warmth(clean_frames) > 5 and warmth(frames) < -5

    def ratio(m, aud):
        gaps = [rms(aud, sr, a.end + 0.1, b.start - 0.1) for a, b in zip(m.lines, m.lines[1:])]
        lines = [rms(aud, sr, ln.start, ln.end) for ln in m.lines]
        return 20 * np.log10(np.mean(lines) / np.mean(gaps))

    assert ratio(clean, clean_audio) > 10  # speech stands well above the beds
    assert ratio(manifest, audio) < 4  # the beds are nearly as loud as the speech


def test_wrong_mouth_and_non_speaker_lips_show_on_the_right_faces(tmp_path_factory, duo_clean):
    import librosa

    clean, clean_frames, clean_audio, _ = duo_clean
    manifest, frames, audio, sr = render(tmp_path_factory, DUO, f"{QUIET}&faults=wrong_mouth,non_speaker_lip_motion&severity=1")
    faults = {f.fault: f for f in manifest.faults}
    wrong, chatter = faults["wrong_mouth"], faults["non_speaker_lip_motion"]
    assert {wrong.line, chatter.line} == {0, 1}  # both lines of the two-shot, one fault each
    H, W = frames.shape[1:3]
    positions = manifest.shots[0].positions  # where to look; what moves is measured from pixels

    def mouth_activity(fr, who, line):
        x = positions[who]
        region = fr[int(line.start * FPS):int(line.end * FPS), int(0.1 * H):int(0.5 * H), int((x - 0.08) * W):int((x + 0.08) * W)]
        return mouth_pixels_in(region).std()

    scripted = DUO.lines[wrong.line].speaker
    voiced_by = wrong.params["voiced_by"]
    line = manifest.lines[wrong.line]
    assert line.speaker == voiced_by != scripted
    assert mouth_activity(frames, voiced_by, line) > 3 * max(1.0, mouth_activity(frames, scripted, line))
    assert mouth_activity(clean_frames, scripted, clean.lines[wrong.line]) > 3 * max(1.0, mouth_activity(clean_frames, voiced_by, clean.lines[wrong.line]))

    def f0(aud, ln):
        return float(np.median(librosa.yin(aud[int(ln.start * sr):int(ln.end * sr)], fmin=60, fmax=500, sr=sr)))

    assert abs(12 * np.log2(f0(audio, line) / f0(clean_audio, clean.lines[wrong.line]))) > 4.0  # the other's voice
    talker = manifest.lines[chatter.line]
    listener = chatter.params["character"]
    assert listener != talker.speaker
    assert mouth_activity(frames, listener, talker) > 3 * max(1.0, mouth_activity(clean_frames, listener, clean.lines[chatter.line]))


def mouth_pixels_in(region: np.ndarray) -> np.ndarray:
    """Open-mouth area per frame in a region: the dark red of a mouth's inside (not lips, skin or beards)."""
    r, g, b = (region[..., k].astype(np.int16) for k in range(3))
    return ((r - g > 45) & (g < 45) & (b < 70) & (r < 170)).sum(axis=(1, 2)).astype(np.float64)
