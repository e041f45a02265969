"""Sound probes on synthetic audio: music key and drone, music that changes between halves, a loud bed,
an ambience floor, and scripted sound cues heard (or not) over speech-like babble.

The audio is made in memory (`ClipMedia.from_arrays`): held triads (the sustained tones the music
probe reads), a low drone, filtered noise for an ambience, babble for speech, a phone ring or a
thump for a cue. Cue tests fix the line alignment in the media's feature cache instead of running
the aligner.
"""

from __future__ import annotations

import numpy as np
import pytest

from diagnosers.media import ClipMedia
from diagnosers.probes.soundscape import (
    music,
    music_descriptors,
    music_drift_odds,
    music_valence,
    soundscape,
)
from flows.work import suite_for

SR = 16000
FPS = 2.0


def _tone(midi: float, seconds: float, harmonics: int = 4) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    f = 440.0 * 2 ** ((midi - 69) / 12)
    return sum(np.sin(2 * np.pi * f * k * t) / k**1.5 for k in range(1, harmonics + 1) if f * k < SR / 2)


def _bed(third: int, seconds: float = 12.0, drone: bool = False, level_db: float = -30.0, seed: int = 0) -> np.ndarray:
    """Held triads on A (third = 4: major I-IV-V-I, 3: minor i-iv-v-i, 1.5 s each), bass an octave down,
    optional low drone, plus faint noise."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    x = np.zeros(n)
    chord_s = 1.5
    for k in range(int(np.ceil(seconds / chord_s))):
        root = 57 + (0, 5, 7, 0)[k % 4]
        a, b = int(k * chord_s * SR), min(n, int((k + 1) * chord_s * SR))
        x[a:b] += sum(_tone(m, chord_s)[: b - a] for m in (root, root + third, root + 7, root - 12))
    x += 0.02 * rng.standard_normal(n)
    if drone:
        t = np.arange(n) / SR
        x = x + 1.5 * np.sin(2 * np.pi * 55.0 * t) + 0.8 * np.sin(2 * np.pi * 41.2 * t)
    return (x / np.sqrt(np.mean(x**2)) * 10 ** (level_db / 20)).astype(np.float32)


def _media(audio: np.ndarray, scene=None) -> ClipMedia:
    frames = np.zeros((int(len(audio) / SR * FPS), 18, 32, 3), np.uint8)
    return ClipMedia.from_arrays(frames, audio.astype(np.float32), scene, fps=FPS)


def test_major_and_minor_triads_read_as_opposite_keys():
    major = music_descriptors(_media(_bed(4)))
    minor = music_descriptors(_media(_bed(3)))
    assert major["key_median"] > 0.05 > -0.05 > minor["key_median"], (major, minor)
    assert major["key_mean"] > minor["key_mean"]
    assert music_valence(major) > music_valence(minor)


def test_a_low_drone_reads_as_drone_and_lowers_the_valence():
    plain = music_descriptors(_media(_bed(3)))
    droning = music_descriptors(_media(_bed(3, drone=True)))
    assert droning["drone"] > plain["drone"] + 0.5
    assert music_valence(droning) < music_valence(plain)


def test_a_steady_bed_does_not_drift_and_a_bed_that_changes_at_half_time_does():
    steady = np.concatenate([_bed(4, 6.0, seed=1), _bed(4, 6.0, seed=2)])
    changed = np.concatenate([_bed(4, 6.0, seed=1), _bed(3, 6.0, drone=True, level_db=-24.0, seed=2)])
    a, b = music_descriptors(_media(steady)), music_descriptors(_media(changed))
    assert a["floor_change"] < 1.0 and b["floor_change"] > 4.0, (a, b)
    assert b["tone_change"] > a["tone_change"]
    assert music_drift_odds(b) > music_drift_odds(a)


def test_music_probe_scores_minor_music_under_a_joyful_script_as_a_conflict():
    scene = suite_for("default").scene("beach-bonfire")  # music: joyful
    fitting = next(s.score for s in music.measure(_media(_bed(4), scene)) if s.mode == "mc.scene_music_emotion_conflict")
    opposite = next(s.score for s in music.measure(_media(_bed(3, drone=True), scene)) if s.mode == "mc.scene_music_emotion_conflict")
    assert opposite > fitting
    drift = next(s for s in music.measure(_media(_bed(4), scene)) if s.mode == "mc.music_tone_drift")
    ((start, end, _),) = drift.windows
    assert start == pytest.approx(6.0, abs=0.1) and end == pytest.approx(12.0, abs=0.1)


def test_music_probe_measures_nothing_without_scripted_music():
    scores = music.measure(_media(_bed(4)))
    assert [s.score for s in scores] == [None, None]


def test_a_bed_as_loud_as_dialogue_scores_higher_than_a_quiet_one():
    scene = suite_for("default").scene("beach-bonfire")
    quiet = next(s for s in soundscape.measure(_media(_bed(4, level_db=-34.0), scene)) if s.mode == "sd.overpowering_background_audio")
    loud = next(s for s in soundscape.measure(_media(_bed(4, level_db=-14.0), scene)) if s.mode == "sd.overpowering_background_audio")
    assert loud.score > quiet.score + 15
    assert loud.score > 0 > quiet.score


def test_an_ambience_bed_fills_the_floor_that_music_alone_leaves_empty():
    scene = suite_for("default").scene("beach-bonfire")  # scripted ambience: fire, waves, distant music
    rng = np.random.default_rng(3)
    music_only = _bed(4, level_db=-30.0)
    noise = rng.standard_normal(len(music_only)).astype(np.float32)
    with_ambience = music_only + noise / np.sqrt(np.mean(noise**2)) * 10 ** (-38.0 / 20)
    missing = next(s for s in soundscape.measure(_media(music_only, scene)) if s.mode == "sd.missing_ambient_sound")
    present = next(s for s in soundscape.measure(_media(with_ambience, scene)) if s.mode == "sd.missing_ambient_sound")
    assert missing.score > present.score + 2.0, (missing.score, present.score)


def _babble(seconds: float = 6.0, seed: int = 1) -> np.ndarray:
    """Speech-like stand-in: noise shaped to 200 Hz-4 kHz, amplitude-modulated at syllable rate."""
    from scipy.signal import butter, sosfilt

    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    x = sosfilt(butter(4, (200, 4000), "bandpass", fs=SR, output="sos"), rng.standard_normal(n))
    t = np.arange(n) / SR
    return (0.05 * x * (0.6 + 0.4 * np.sin(2 * np.pi * 4.0 * t))).astype(np.float32)


def test_a_low_rumble_ambience_counts_as_ambience():
    """An ambience that fills only the low octaves (an idling engine, wind) still fills the floor."""
    from scipy.signal import butter, sosfilt

    scene = suite_for("default").scene("beach-bonfire")
    music_only = _bed(4, level_db=-30.0)
    rng = np.random.default_rng(5)
    rumble = sosfilt(butter(4, (100, 250), "bandpass", fs=SR, output="sos"), rng.standard_normal(len(music_only)))
    with_rumble = music_only + (rumble / np.sqrt(np.mean(rumble**2)) * 10 ** (-36.0 / 20)).astype(np.float32)
    missing = next(s for s in soundscape.measure(_media(music_only, scene)) if s.mode == "sd.missing_ambient_sound")
    present = next(s for s in soundscape.measure(_media(with_rumble, scene)) if s.mode == "sd.missing_ambient_sound")
    assert missing.score > present.score + 1.5, (missing.score, present.score)


def test_cue_words_pick_the_kind_of_sound():
    from diagnosers.probes.cues import cue_kind

    assert cue_kind("shop door bell") == "doorbell"
    assert cue_kind("phone ringing at the desk") == "phone"
    assert cue_kind("metal tray crash") == "metal"
    assert cue_kind("dog bark") == "bark"
    assert cue_kind("a mysterious creak") == "impact"


CUE_T = 6.0


def _cue(kind: str, seed: int = 0) -> np.ndarray:
    t = np.arange(int(1.0 * SR)) / SR
    if kind == "phone":
        return (0.05 * (np.sin(2 * np.pi * 440 * t) + np.sin(2 * np.pi * 480 * t))).astype(np.float32)
    rng = np.random.default_rng(seed)  # impact: a falling thump under a noise burst
    thump = np.sin(2 * np.pi * np.cumsum(60 + 60 * np.exp(-t * 25)) / SR) * np.exp(-t * 12)
    return (0.3 * thump + 0.2 * rng.standard_normal(len(t)) * np.exp(-t * 18)).astype(np.float32)


def _talk(kind: str | None, seconds: float = 12.0, seed: int = 1, at: float = CUE_T) -> np.ndarray:
    x = _babble(seconds, seed)
    if kind is not None:
        x[int(at * SR): int(at * SR) + SR] += _cue(kind, seed)
    return x


@pytest.mark.parametrize("kind", ["phone", "impact"])
def test_a_played_cue_reads_among_the_clips_loudest_moments_in_its_bands(kind):
    from diagnosers.probes.cues import cue_readings

    played = cue_readings(_media(_talk(kind)), CUE_T + 0.2, kind)
    silent = cue_readings(_media(_talk(None)), CUE_T + 0.2, kind)
    assert played is not None and silent is not None
    # the best reading rises clearly, and played readings sit near or above the clip's own 98th percentile
    assert (played - silent).max() > 2.0
    assert played.max() > -0.5


def test_ringing_partials_read_as_a_ring_where_babble_does_not():
    """A struck metal object leaves steady narrow partials (here 0.9, 1.7 and 2.9 kHz, decaying):
    the ring reading (the last of metal's readings) stands over the clip's 98th percentile there."""
    from diagnosers.probes.cues import cue_readings

    t = np.arange(SR) / SR
    ring = 0.05 * sum(np.sin(2 * np.pi * f * t) * np.exp(-t * 5.0) for f in (900.0, 1700.0, 2900.0))
    silent = _talk(None)
    rung = silent.copy()
    rung[int(CUE_T * SR): int(CUE_T * SR) + SR] += ring.astype(np.float32)
    played = cue_readings(_media(rung), CUE_T + 0.2, "metal")
    without = cue_readings(_media(silent), CUE_T + 0.2, "metal")
    assert len(played) == 41 and len(cue_readings(_media(silent), CUE_T + 0.2, "impact")) == 40
    assert played[-1] > 0.5 > 0.2 > without[-1], (played[-1], without[-1])


def test_a_steady_whine_does_not_read_as_a_ring_but_a_hit_over_it_does():
    """The ring reading counts partials that start to ring: a feedback whine held through the whole
    clip (1.2 and 2.4 kHz) reads no ring at the cue's time; a struck ring over the whine still does."""
    from diagnosers.probes.cues import cue_readings

    t = np.arange(SR) / SR
    ring = 0.05 * sum(np.sin(2 * np.pi * f * t) * np.exp(-t * 5.0) for f in (900.0, 1700.0, 2900.0))
    whined = _talk(None)
    tt = np.arange(len(whined)) / SR
    whined += (0.03 * (np.sin(2 * np.pi * 1200.0 * tt) + np.sin(2 * np.pi * 2400.0 * tt))).astype(np.float32)
    rung = whined.copy()
    rung[int(CUE_T * SR): int(CUE_T * SR) + SR] += ring.astype(np.float32)
    played = cue_readings(_media(rung), CUE_T + 0.2, "metal")[-1]
    without = cue_readings(_media(whined), CUE_T + 0.2, "metal")[-1]
    assert played > 0.5 > 0.2 > without, (played, without)


def test_footsteps_read_as_a_beat_where_babble_does_not():
    """Four soft low thumps 0.5 s apart: the step reading (the last of footsteps' readings) stands
    over the clip's 98th percentile there; babble alone keeps no such beat."""
    from scipy.signal import butter, sosfilt

    from diagnosers.probes.cues import cue_readings

    t = np.arange(int(0.12 * SR)) / SR
    thump = 0.2 * sosfilt(butter(2, 900, fs=SR, output="sos"), np.random.default_rng(0).standard_normal(len(t))) * np.exp(-t * 40)
    silent = _talk(None)
    walked = silent.copy()
    for k in range(4):
        at = int((CUE_T + 0.5 * k) * SR)
        walked[at: at + len(t)] += thump.astype(np.float32)
    played = cue_readings(_media(walked), CUE_T + 0.2, "footsteps")
    without = cue_readings(_media(silent), CUE_T + 0.2, "footsteps")
    assert len(played) == 41
    assert played[-1] > 1.0 > 0.3 > without[-1], (played[-1], without[-1])


def test_a_kind_with_few_cues_leans_on_its_family():
    from diagnosers.probes.cues import shrunk_separations

    impact = np.zeros(41)  # 60 impacts: reading 0 (the low thump) separates best
    impact[0] = 3.0
    knock = np.zeros(41)  # 2 knocks: reading 5 looked best by chance, reading 0 fair
    knock[[0, 5]] = [1.0, 2.0]
    ring = np.r_[np.zeros(40), 2.5]  # a reading only metal has is pooled over metal alone
    shrunk = shrunk_separations({"impact": (60, impact[:40]), "knock": (2, knock[:40]), "metal": (30, ring)})
    assert int(np.argmax(shrunk["knock"])) == 0 and shrunk["knock"][5] < 2.0
    assert shrunk["impact"][0] > shrunk["knock"][0] > 1.0
    assert shrunk["metal"][40] == pytest.approx(2.5)


def _placed(audio: np.ndarray, scene, cue_line: int) -> ClipMedia:
    """Media whose line alignment is fixed: line i spans 2 s from 2i s (the cue line's 45 % point at `CUE_T`)."""
    from diagnosers.probes.align import LineSpan
    from diagnosers.probes.features import Span

    media = _media(audio, scene)
    offset = CUE_T - 0.9 - 2.0 * cue_line
    spans = [Span(round(offset + 2.0 * i, 3), round(offset + 2.0 * i + 2.0, 3)) for i in range(len(scene.lines))]
    media._features["line_alignment"] = [LineSpan(i, s, 1.0, None, s) for i, s in enumerate(spans)]  # the aligner's cache
    return media


def test_the_fitted_cue_model_scores_a_left_out_cue_as_missing(tmp_path):
    from types import SimpleNamespace

    from diagnosers.probes.cues import cue_strengths, fit_cue_reference

    scene = suite_for("default").scene("job-interview")  # "desk phone ringing" on line 4 of 6
    seconds = 2.0 * len(scene.lines) + 2.0
    def clip(seed: int, played: bool):
        faults = [] if played else [SimpleNamespace(fault="missing_sound_cue", params={"cue": 0})]
        return _placed(_talk("phone" if played else None, seconds, seed), scene, 4), SimpleNamespace(faults=faults)

    path = tmp_path / "model.json"
    models = fit_cue_reference([clip(s, played=s % 2 == 0) for s in range(6)], out=path)
    assert set(models) == {"phone"} and models["phone"]["cues"] == 3
    played = cue_strengths(clip(11, played=True)[0], str(path))
    missing = cue_strengths(clip(12, played=False)[0], str(path))
    assert [(i, k) for i, _, k, _ in played] == [(4, "phone")]
    # a missing cue reads like the lines without it (about 2 units), a played one like played cues (about 0)
    assert missing[0][3] > 1.5 > 0.5 > played[0][3], (missing, played)
