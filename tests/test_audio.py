"""Audio beds (music by mood, ambience by keyword, sound cues) and the pydub mixer with stems."""

from __future__ import annotations

import wave

import numpy as np
import pytest

from generators.audio.beds import (
    STYLES,
    ambience_bed,
    ambience_layers,
    cue_kind,
    music_bed,
    sound_cue,
)
from generators.audio.dsp import (
    band_energy_ratio_db,
    frame_rms_db,
    rms_dbfs,
    spectral_centroid_hz,
)
from generators.audio.mix import mix_tracks
from scenes import Mood

SR = 16000


def chroma_third_balance(y: np.ndarray, mood: Mood) -> float:
    """Major third minus minor third above the mood's tonic, in mean chroma (> 0 major, < 0 minor)."""
    import librosa

    chroma = librosa.feature.chroma_stft(y=y, sr=SR).mean(axis=1)
    tonic = STYLES[mood].tonic_midi % 12
    return float(chroma[(tonic + 4) % 12] - chroma[(tonic + 3) % 12])


def tempo_bpm(y: np.ndarray) -> float:
    import librosa

    return float(librosa.feature.tempo(onset_envelope=librosa.onset.onset_strength(y=y, sr=SR), sr=SR)[0])


@pytest.mark.parametrize("mood", [Mood.joyful, Mood.warm, Mood.triumphant, Mood.calm])
def test_positive_moods_are_major(mood):
    assert chroma_third_balance(music_bed(mood, 0.5, 12, SR, seed=1), mood) > 0.1


@pytest.mark.parametrize("mood", [Mood.tense, Mood.ominous, Mood.sad, Mood.angry])
def test_negative_moods_are_minor(mood):
    assert chroma_third_balance(music_bed(mood, 0.5, 12, SR, seed=1), mood) < -0.1


KRUMHANSL_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KRUMHANSL_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def test_key_finding_agrees_with_mood_valence_for_every_mood():
    """A probe that does not know the tonic (best major key minus best minor key) reads the valence."""
    import librosa

    from scenes import MOOD_AFFECT

    for mood in Mood:
        chroma = librosa.feature.chroma_stft(y=music_bed(mood, 0.4, 8, SR, seed=0), sr=SR).sum(axis=1)
        major = max(np.corrcoef(chroma, np.roll(KRUMHANSL_MAJOR, k))[0, 1] for k in range(12))
        minor = max(np.corrcoef(chroma, np.roll(KRUMHANSL_MINOR, k))[0, 1] for k in range(12))
        valence = MOOD_AFFECT[mood][0]
        assert (major - minor) * (1 if valence >= 0 else -1) > 0.08, mood


def test_tempo_and_brightness_follow_mood():
    joyful = music_bed(Mood.joyful, 0.6, 12, SR, seed=2)
    melancholic = music_bed(Mood.melancholic, 0.6, 12, SR, seed=2)
    ominous = music_bed(Mood.ominous, 0.6, 12, SR, seed=2)
    assert tempo_bpm(joyful) == pytest.approx(STYLES[Mood.joyful].bpm, rel=0.06)
    assert tempo_bpm(melancholic) == pytest.approx(STYLES[Mood.melancholic].bpm, rel=0.06)
    assert spectral_centroid_hz(joyful, SR) > 2 * spectral_centroid_hz(ominous, SR)
    # ominous: a sustained drone carries much of the energy below 120 Hz
    low = band_energy_ratio_db(ominous, SR, split_hz=120.0)
    assert low < band_energy_ratio_db(joyful, SR, split_hz=120.0) - 6.0


def test_intensity_sets_level_and_length_is_exact():
    quiet = music_bed(Mood.warm, 0.1, 7.3, SR, seed=0)
    loud = music_bed(Mood.warm, 0.9, 7.3, SR, seed=0)
    assert len(quiet) == len(loud) == round(7.3 * SR)
    assert quiet.dtype == np.float32
    assert rms_dbfs(loud) - rms_dbfs(quiet) == pytest.approx(16 * 0.8, abs=0.5)
    assert np.max(np.abs(loud)) < 1.0


def test_music_is_deterministic_per_seed():
    a = music_bed(Mood.playful, 0.5, 4, SR, seed=7)
    np.testing.assert_array_equal(a, music_bed(Mood.playful, 0.5, 4, SR, seed=7))
    assert not np.array_equal(a, music_bed(Mood.playful, 0.5, 4, SR, seed=8))


def test_beds_are_fresh_arrays_each_call():
    first = music_bed(Mood.calm, 0.5, 2, SR, seed=1)
    first[:] = 0.0  # a caller scribbling on its bed must not change the next caller's
    assert rms_dbfs(music_bed(Mood.calm, 0.5, 2, SR, seed=1)) == pytest.approx(-24.0, abs=0.1)
    room = ambience_bed(["nowhere"], 2, SR, seed=1)
    room *= 0
    assert rms_dbfs(ambience_bed(["nowhere"], 2, SR, seed=1)) == pytest.approx(-44.0, abs=0.1)


def test_beds_at_48k_match_the_asked_length_and_level():
    music = music_bed(Mood.tense, 0.5, 3.3, 48000, seed=0)
    rain = ambience_bed(["rain"], 3.3, 44100, seed=0)
    assert len(music) == round(3.3 * 48000) and len(rain) == round(3.3 * 44100)
    assert rms_dbfs(music) == pytest.approx(-24.0, abs=0.2) and rms_dbfs(rain) == pytest.approx(-32.0, abs=0.2)


def test_music_rejects_bad_arguments():
    with pytest.raises(ValueError, match="intensity"):
        music_bed(Mood.calm, 1.5, 4, SR, 0)
    with pytest.raises(ValueError, match="duration_s"):
        music_bed(Mood.calm, 0.5, 0, SR, 0)


def test_ambience_keywords_select_layers():
    assert ambience_layers(["fridge hum", "rain on window"]) == ["hum", "rain"]
    assert ambience_layers(["busy street", "cafe chatter"]) == ["traffic", "crowd"]
    assert ambience_layers(["birdsong", "distant waves"]) == ["birds", "waves"]
    assert ambience_layers(["humid air"]) == ["room_tone"]  # "hum" only as a word
    assert ambience_layers(["nothing recognisable"]) == ["room_tone"]
    assert ambience_layers(["crowd chatter", "pigeons cooing"]) == ["crowd", "birds"]  # "crow" is not in "crowd"
    assert ambience_layers(["idling diesel engine", "extractor fan", "jukebox playing low"]) == ["engine", "fan", "distant_music"]
    assert ambience_layers(["sizzling pan", "teacups on saucers", "monitor beeps"]) == ["hiss", "clatter", "beeps"]


def test_ambience_layers_are_measurably_different():
    rain = ambience_bed(["rain"], 6, SR, seed=1)
    wind = ambience_bed(["wind"], 6, SR, seed=1)
    hum = ambience_bed(["fridge hum"], 6, SR, seed=1)
    room = ambience_bed(["unknown place"], 6, SR, seed=1)
    assert rms_dbfs(rain) == pytest.approx(-32.0, abs=0.1)
    assert rms_dbfs(room) == pytest.approx(-44.0, abs=0.1)
    assert band_energy_ratio_db(rain, SR) > band_energy_ratio_db(wind, SR) + 15.0
    spectrum = np.abs(np.fft.rfft(hum))
    freqs = np.fft.rfftfreq(len(hum), 1 / SR)
    assert freqs[np.argmax(spectrum)] == pytest.approx(50.0, abs=1.0)
    np.testing.assert_array_equal(rain, ambience_bed(["rain"], 6, SR, seed=1))


def test_every_layer_synthesizes_a_level_bed():
    from generators.audio.ambience import LAYERS

    for layer, (keywords, synth) in LAYERS.items():
        bed = ambience_bed([layer.replace("_", " ") if layer != "distant_music" else "jukebox"], 3, SR, seed=2)
        assert np.all(np.isfinite(bed)) and rms_dbfs(bed) == pytest.approx(-32.0, abs=0.5), layer  # peaky layers clip a little


def test_crowd_babble_is_modulated_at_syllable_rate():
    crowd = ambience_bed(["crowd"], 10, SR, seed=3)
    env = 10 ** (frame_rms_db(crowd, SR, 0.01) / 20)
    spectrum = np.abs(np.fft.rfft(env - env.mean()))
    freqs = np.fft.rfftfreq(len(env), 0.01)
    band = (freqs > 2.5) & (freqs < 7)
    assert spectrum[band].mean() > 2 * spectrum[(freqs > 15) & (freqs < 40)].mean()


@pytest.mark.parametrize(
    "cue, kind",
    [
        ("plate smash", "glass"), ("door slam", "impact"), ("knock at the door", "knock"), ("phone rings", "phone"),
        ("doorbell", "doorbell"), ("car horn", "horn"), ("applause", "applause"), ("thunder", "thunder"),
        ("footsteps on gravel", "footsteps"), ("dog barks", "bark"), ("gunshot", "gunshot"),
        ("church bell", "bell"), ("something odd", "impact"), ("referee whistle", "whistle"),
        ("train whistle", "horn"), ("applause and whistles", "applause"), ("smoke alarm", "alarm"),
        ("phone vibrating", "buzz"), ("light switch click", "click"), ("bus brakes hiss", "hiss"),
        ("metal tray crash", "metal"), ("iron gate slam", "metal"),
    ],
)  # fmt: skip
def test_cues_have_a_sharp_onset_at_sample_zero(cue, kind):
    assert cue_kind(cue) == kind
    sound = sound_cue(cue, SR, seed=0)
    assert sound.dtype == np.float32 and 0.1 < len(sound) / SR < 3.0
    assert np.max(np.abs(sound)) == pytest.approx(10 ** (-3 / 20), rel=0.02)
    levels = frame_rms_db(sound, SR, 0.005)
    assert levels[:2].max() >= levels.max() - 6.0  # within 6 dB of the peak in the first 10 ms
    assert np.abs(sound[0]) < 0.05  # a ramp, not a click


def test_tonal_cues_have_steady_pitch():
    phone = sound_cue("phone rings", SR, 0)
    spectrum = np.abs(np.fft.rfft(phone))
    peak = np.fft.rfftfreq(len(phone), 1 / SR)[np.argmax(spectrum)]
    assert peak == pytest.approx(440, abs=5) or peak == pytest.approx(480, abs=5)


def test_mix_applies_gains_pads_and_writes_stems(tmp_path):
    t = np.arange(SR * 2) / SR
    voice = (0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    music = (0.05 * np.sin(2 * np.pi * 660 * t[: SR])).astype(np.float32)
    mix = mix_tracks({"voice_mara": voice, "music": music}, SR, {"music": -6.0}, stems_dir=tmp_path)
    assert mix.dtype == np.float32 and len(mix) == len(voice)
    expected = voice.copy()
    expected[:SR] += music * 10 ** (-6 / 20)
    np.testing.assert_allclose(mix, expected, atol=2e-4)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["music.wav", "voice_mara.wav"]
    with wave.open(str(tmp_path / "music.wav")) as stem:
        assert stem.getframerate() == SR and stem.getnchannels() == 1 and stem.getsampwidth() == 2
        data = np.frombuffer(stem.readframes(stem.getnframes()), "<i2") / 32767
    np.testing.assert_allclose(data, music * 10 ** (-6 / 20), atol=2e-4)


def test_mix_limits_hot_tracks_without_clipping():
    loud = np.full(SR, 0.8, np.float32) * np.sign(np.sin(np.arange(SR) / SR * 2 * np.pi * 100)).astype(np.float32)
    mix = mix_tracks({"a": loud, "b": loud, "c": loud}, SR, {"a": 6.0})
    assert np.max(np.abs(mix)) <= 10 ** (-1 / 20) + 1e-6
    assert rms_dbfs(mix) > -3.0  # limited, not silenced


def test_mix_rejects_bad_tracks():
    with pytest.raises(ValueError, match="gains_db names tracks that do not exist: \\['drums'\\]"):
        mix_tracks({"a": np.zeros(10, np.float32)}, SR, {"drums": 1.0})
    with pytest.raises(ValueError, match="track 'a' must be mono"):
        mix_tracks({"a": np.zeros((2, 10), np.float32)}, SR)
    with pytest.raises(ValueError, match="NaN"):
        mix_tracks({"a": np.array([0.0, np.nan], np.float32)}, SR)
    with pytest.raises(ValueError, match="not usable as a file name"):
        mix_tracks({"../x": np.zeros(10, np.float32)}, SR)
    assert len(mix_tracks({}, SR)) == 0
