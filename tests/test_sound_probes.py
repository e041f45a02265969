"""Sound probes on synthetic beds: music key and drone, music that changes between halves, a loud bed.

The audio is made in memory (`ClipMedia.from_arrays`): held triads (the sustained tones the music
probe reads), a low drone, filtered noise for an ambience, and no speech.
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


def test_cue_words_pick_the_kind_of_sound():
    from diagnosers.probes.cues import cue_kind

    assert cue_kind("shop door bell") == "doorbell"
    assert cue_kind("phone ringing at the desk") == "phone"
    assert cue_kind("metal tray crash") == "metal"
    assert cue_kind("dog bark") == "bark"
    assert cue_kind("a mysterious creak") == "impact"


@pytest.mark.parametrize("kind", ["phone", "impact"])
def test_a_played_cue_raises_its_template_over_the_speech_around_it(kind):
    from diagnosers.probes.cues import cue_template_level

    x = _babble()
    t0 = 3.0
    t = np.arange(int(1.0 * SR)) / SR
    if kind == "phone":
        cue = 0.05 * (np.sin(2 * np.pi * 440 * t) + np.sin(2 * np.pi * 480 * t))
    else:
        cue = 0.3 * np.sin(2 * np.pi * np.cumsum(60 + 60 * np.exp(-t * 25)) / SR) * np.exp(-t * 12)
    played = x.copy()
    played[int(t0 * SR) : int(t0 * SR) + len(cue)] += cue.astype(np.float32)
    with_cue = cue_template_level(_media(played), t0, kind)
    without = cue_template_level(_media(x), t0, kind)
    assert with_cue is not None and without is not None
    assert with_cue > without + 2.0
