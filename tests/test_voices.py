"""Voice backends: espeak-ng voices per character, emotion and delivery; ElevenLabs through the real SDK."""

from __future__ import annotations

import numpy as np
import pytest

from generators.audio.dsp import band_energy_ratio_db, frame_rms_db
from generators.voices import (
    Speech,
    VoiceError,
    build_voice_backend,
    prosody_plan,
    registry,
)
from scenes import Character, Delivery, Emotion, Voice
from storage import SpecError
from tests.fakes.elevenlabs_server import FakeElevenLabs

LINE = "Then why are we doing this? I told you twice already."
TOM = Character(id="tom", name="Tom", look="stocky, grey sweater", voice=Voice(gender="male", pitch=-3))
MARA = Character(id="mara", name="Mara", look="tall, red coat", voice=Voice(gender="female", pitch=5))


def f0_median(speech: Speech) -> float:
    """Median F0 (Hz) over frames loud enough to be voiced, by YIN."""
    import librosa

    y = speech.samples.astype(np.float64)
    f0 = librosa.yin(y, fmin=60, fmax=500, sr=speech.sample_rate, frame_length=1024, hop_length=256)
    level = librosa.feature.rms(y=y, frame_length=1024, hop_length=256)[0][: len(f0)]
    return float(np.median(f0[level > level.max() * 0.3]))


@pytest.fixture
def espeak(tmp_path):
    return build_voice_backend(f"espeak?cache_dir={tmp_path / 'cache'}")


def test_default_backend_is_espeak():
    backend = build_voice_backend()
    assert backend.name == "espeak"
    assert {"espeak", "elevenlabs"} <= set(registry.names())


def test_unknown_backend_and_bad_setting_are_clear_errors():
    with pytest.raises(SpecError, match="unknown voice backend 'festival'"):
        build_voice_backend("festival")
    with pytest.raises(SpecError, match="timeout_s"):
        build_voice_backend("espeak?timeout_s=-1")
    with pytest.raises(SpecError, match="output_format"):
        build_voice_backend("elevenlabs?output_format=flac_9")


def test_characters_get_distinct_voices(espeak):
    tom = espeak.synthesize(LINE, TOM, emotion=Emotion.neutral, delivery=Delivery.normal)
    mara = espeak.synthesize(LINE, MARA, emotion=Emotion.neutral, delivery=Delivery.normal)
    assert tom.sample_rate == mara.sample_rate == 22050
    assert f0_median(mara) > 1.5 * f0_median(tom)
    assert espeak.voice_name(TOM) == "en+m3" and espeak.voice_name(MARA) == "en+f3"
    klatt = TOM.model_copy(update={"voice": Voice(gender="male", variant="klatt")})
    assert espeak.voice_name(klatt) == "en+klatt"
    typo = TOM.model_copy(update={"voice": Voice(gender="male", variant="klat")})
    with pytest.raises(VoiceError, match="character 'tom' has voice.variant 'klat'"):
        espeak.synthesize(LINE, typo)


def test_pitch_steps_raise_f0(espeak):
    low = Character(id="a", name="A", look="x", voice=Voice(gender="male", pitch=-6))
    high = Character(id="b", name="B", look="x", voice=Voice(gender="male", pitch=6))
    assert f0_median(espeak.synthesize(LINE, high)) > f0_median(espeak.synthesize(LINE, low)) * 1.2


def test_whisper_is_quiet_and_breathy_shout_is_loud(espeak):
    normal = espeak.synthesize(LINE, TOM, emotion=Emotion.angry, delivery=Delivery.normal)
    shout = espeak.synthesize(LINE, TOM, emotion=Emotion.angry, delivery=Delivery.shout)
    whisper = espeak.synthesize(LINE, TOM, emotion=Emotion.angry, delivery=Delivery.whisper)
    assert shout.rms_dbfs - whisper.rms_dbfs >= 10.0
    assert normal.rms_dbfs - whisper.rms_dbfs >= 12.0
    assert shout.rms_dbfs > normal.rms_dbfs + 4.0
    # spectral tilt: a whisper carries relatively more energy above 2 kHz than voiced speech
    sr = normal.sample_rate
    assert band_energy_ratio_db(whisper.samples, sr) > band_energy_ratio_db(normal.samples, sr) + 6.0
    assert np.max(np.abs(shout.samples)) <= 1.0


def test_whisper_has_no_voicing(espeak):
    import librosa

    def voiced_share(speech: Speech) -> float:
        _, voiced, _ = librosa.pyin(speech.samples.astype(np.float64), fmin=60, fmax=400, sr=speech.sample_rate,
                                    frame_length=2048, hop_length=512)  # fmt: skip
        return float(np.mean(voiced))

    assert voiced_share(espeak.synthesize(LINE, TOM, delivery=Delivery.normal)) > 0.5
    assert voiced_share(espeak.synthesize(LINE, TOM, delivery=Delivery.whisper)) < 0.1


def test_voice_over_sounds_like_normal_speech(espeak):
    normal = espeak.synthesize(LINE, MARA, delivery=Delivery.normal)
    over = espeak.synthesize(LINE, MARA, delivery=Delivery.voice_over)
    np.testing.assert_array_equal(normal.samples, over.samples)


def test_high_arousal_is_faster_and_higher_than_sadness(espeak):
    angry = espeak.synthesize(LINE, MARA, emotion=Emotion.furious)
    sad = espeak.synthesize(LINE, MARA, emotion=Emotion.sad)
    assert angry.duration_s < sad.duration_s * 0.85
    assert f0_median(angry) > f0_median(sad) * 1.1
    assert prosody_plan(Emotion.furious, Delivery.normal).pitch_range == "x-high"
    assert prosody_plan(Emotion.sad, Delivery.normal).pitch_range == "x-low"


def test_silence_is_trimmed(espeak):
    speech = espeak.synthesize("Hello.", TOM)
    levels = frame_rms_db(speech.samples, speech.sample_rate, 0.02)
    assert levels[:3].max() > levels.max() - 30 and levels[-3:].max() > levels.max() - 30
    assert 0.2 < speech.duration_s < 1.5


def test_output_is_deterministic_and_cached(tmp_path):
    fresh = build_voice_backend("espeak?cache=false")
    a = fresh.synthesize(LINE, MARA, emotion=Emotion.bitter, delivery=Delivery.whisper, seed=3)
    b = fresh.synthesize(LINE, MARA, emotion=Emotion.bitter, delivery=Delivery.whisper, seed=3)
    np.testing.assert_array_equal(a.samples, b.samples)
    cached = build_voice_backend(f"espeak?cache_dir={tmp_path}")
    first = cached.synthesize(LINE, MARA, emotion=Emotion.bitter, delivery=Delivery.whisper, seed=3)
    assert len(list(tmp_path.rglob("*.npy"))) == 1
    second = cached.synthesize(LINE, MARA, emotion=Emotion.bitter, delivery=Delivery.whisper, seed=3)
    np.testing.assert_array_equal(first.samples, a.samples)
    np.testing.assert_array_equal(second.samples, a.samples)
    # a corrupt cache entry is rebuilt, not trusted
    next(tmp_path.rglob("*.npy")).write_bytes(b"junk")
    np.testing.assert_array_equal(cached.synthesize(LINE, MARA, emotion=Emotion.bitter, delivery=Delivery.whisper, seed=3).samples, a.samples)


def test_missing_binary_and_empty_text_are_clear_errors():
    with pytest.raises(VoiceError, match="'espeak-ng-nope' not found"):
        build_voice_backend("espeak?binary=espeak-ng-nope&cache=false").synthesize(LINE, TOM)
    with pytest.raises(VoiceError, match="empty text"):
        build_voice_backend("espeak").synthesize("   ", TOM)


def test_speech_validates_and_resamples():
    with pytest.raises(ValueError, match="mono"):
        Speech(np.zeros((2, 10), np.float32), 16000)
    speech = Speech(np.sin(np.arange(22050) / 22050 * 2 * np.pi * 200).astype(np.float32), 22050)
    assert speech.duration_s == pytest.approx(1.0)
    down = speech.resampled(16000)
    assert down.sample_rate == 16000 and len(down.samples) == 16000
    assert down.rms_dbfs == pytest.approx(speech.rms_dbfs, abs=0.2)


# --- ElevenLabs through the real SDK against a local fake of the API --------------------------------


@pytest.fixture
def fake(monkeypatch):
    with FakeElevenLabs(api_key="sk-test-123") as server:
        monkeypatch.setenv("ELEVENLABS_API_KEY", "sk-test-123")
        yield server


def eleven(fake, tmp_path, sleeps=None, **settings):
    from generators.voices.elevenlabs import ElevenLabsConfig, ElevenLabsVoice

    config = ElevenLabsConfig(base_url=fake.base_url, cache_dir=tmp_path / "el", **settings)
    return ElevenLabsVoice(config, sleep=(sleeps.append if sleeps is not None else lambda s: None))


@pytest.mark.parametrize("output_format, rate", [("pcm_16000", 16000), ("mp3_44100_128", 44100), ("wav_24000", 24000)])
def test_elevenlabs_formats_decode_to_speech(fake, tmp_path, output_format, rate):
    voice = eleven(fake, tmp_path, output_format=output_format)
    speech = voice.synthesize(LINE, TOM, emotion=Emotion.angry, delivery=Delivery.normal, seed=5)
    assert speech.sample_rate == rate
    assert 1.0 < speech.duration_s < 5.0
    assert speech.rms_dbfs == pytest.approx(prosody_plan(Emotion.angry, Delivery.normal).level_dbfs, abs=0.5)
    (request,) = fake.requests
    assert request.path == "/v1/text-to-speech/pNInz6obpgDQGcFmaJgB"
    assert request.query["output_format"] == [output_format]
    assert request.had_key
    assert request.body["text"] == LINE and request.body["model_id"] == "eleven_multilingual_v2"
    assert request.body["seed"] == 5
    assert request.body["voice_settings"]["stability"] < 0.5  # angry: expressive, unstable


def test_elevenlabs_voice_ids_per_character(fake, tmp_path):
    voice = eleven(fake, tmp_path, output_format="pcm_16000", voices={"mara": "MaraVoice01"})
    own = Character(id="zed", name="Zed", look="x", voice=Voice(gender="male", elevenlabs_voice_id="ZedVoice99"))
    assert voice.voice_id(own) == "ZedVoice99"
    assert voice.voice_id(MARA) == "MaraVoice01"
    assert voice.voice_id(TOM) == "pNInz6obpgDQGcFmaJgB"
    voice.synthesize("Hi.", own)
    assert fake.requests[-1].path.endswith("/ZedVoice99")


def test_elevenlabs_401_is_a_clear_error_without_retry(fake, tmp_path, monkeypatch):
    monkeypatch.setenv("ELEVENLABS_API_KEY", "sk-wrong-999")
    with pytest.raises(VoiceError, match="ELEVENLABS_API_KEY rejected") as info:
        eleven(fake, tmp_path, output_format="pcm_16000").synthesize(LINE, TOM)
    assert "sk-wrong-999" not in str(info.value)
    assert [r.status for r in fake.requests] == [401]


def test_elevenlabs_missing_key(fake, tmp_path, monkeypatch):
    monkeypatch.delenv("ELEVENLABS_API_KEY")
    with pytest.raises(VoiceError, match="ELEVENLABS_API_KEY is not set"):
        eleven(fake, tmp_path).synthesize(LINE, TOM)
    assert fake.requests == []


def test_elevenlabs_429_honours_retry_after_then_succeeds(fake, tmp_path):
    sleeps: list[float] = []
    fake.fail_next(429, times=2, retry_after="7")
    speech = eleven(fake, tmp_path, sleeps, output_format="pcm_16000").synthesize(LINE, TOM)
    assert speech.duration_s > 1.0
    assert sleeps == [7.0, 7.0]
    assert [r.status for r in fake.requests] == [429, 429, 200]


def test_elevenlabs_429_gives_up_with_a_clear_error(fake, tmp_path):
    sleeps: list[float] = []
    fake.fail_next(429, times=10)  # no retry-after: exponential backoff
    with pytest.raises(VoiceError, match=r"rate limited \(429\) after 3 attempts"):
        eleven(fake, tmp_path, sleeps, output_format="pcm_16000", max_retries=2, backoff_s=0.5).synthesize(LINE, TOM)
    assert sleeps == [0.5, 1.0]
    assert len(fake.requests) == 3


def test_elevenlabs_server_error_is_retried(fake, tmp_path):
    fake.fail_next(500, times=1)
    eleven(fake, tmp_path, output_format="pcm_16000").synthesize(LINE, TOM)
    assert [r.status for r in fake.requests] == [500, 200]


def test_elevenlabs_caches_paid_calls(fake, tmp_path):
    voice = eleven(fake, tmp_path, output_format="pcm_16000")
    a = voice.synthesize(LINE, TOM, seed=1)
    b = eleven(fake, tmp_path, output_format="pcm_16000").synthesize(LINE, TOM, seed=1)
    np.testing.assert_array_equal(a.samples, b.samples)
    assert len(fake.requests) == 1
    voice.synthesize(LINE, TOM, seed=2)
    assert len(fake.requests) == 2


def test_elevenlabs_whisper_and_v3_audio_tags(fake, tmp_path):
    normal = eleven(fake, tmp_path, output_format="pcm_16000").synthesize(LINE, TOM, delivery=Delivery.normal)
    whisper = eleven(fake, tmp_path, output_format="pcm_16000").synthesize(LINE, TOM, delivery=Delivery.whisper)
    assert normal.rms_dbfs - whisper.rms_dbfs >= 12.0
    eleven(fake, tmp_path, output_format="pcm_16000", model_id="eleven_v3").synthesize(
        LINE, TOM, emotion=Emotion.sad, delivery=Delivery.whisper)
    assert fake.requests[-1].body["text"] == "[whispers] [sad] " + LINE


def test_elevenlabs_from_spec(fake, tmp_path):
    backend = build_voice_backend(f"elevenlabs?model_id=eleven_flash_v2_5&output_format=pcm_24000&base_url={fake.base_url}"
                                  f"&cache_dir={tmp_path}")  # fmt: skip
    assert backend.name == "elevenlabs"
    assert backend.synthesize("Good morning.", MARA).sample_rate == 24000
    assert fake.requests[-1].body["model_id"] == "eleven_flash_v2_5"


def test_backends_pickle_for_process_pools(fake, tmp_path):
    import pickle

    from generators.voices.elevenlabs import ElevenLabsConfig, ElevenLabsVoice

    voice = ElevenLabsVoice(ElevenLabsConfig(base_url=fake.base_url, cache_dir=tmp_path, output_format="pcm_16000"))
    voice.synthesize("Hello.", TOM)  # the HTTP client now exists
    clone = pickle.loads(pickle.dumps(voice))
    clone.synthesize("Hello again.", TOM)
    assert len(fake.requests) == 2
    espeak = pickle.loads(pickle.dumps(build_voice_backend("espeak?cache=false")))
    assert espeak.synthesize("Hi.", TOM).duration_s > 0.1
