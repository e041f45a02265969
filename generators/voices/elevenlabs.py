"""ElevenLabs voices through the official `elevenlabs` SDK.

Voice per character: `Voice.elevenlabs_voice_id`, else `voices[character.id]` from the config,
else `default_voices[gender]`. Emotion and delivery become voice settings (low stability and high
style for high arousal, `speed` from the character's rate), and on `eleven_v3` models also audio
tags (`[whispers]`, `[shouts]`, `[angry]`). Other models cannot whisper, so whispered lines get
the same breathy post-processing as espeak. Every line is trimmed and levelled like espeak's
(see `prosody.LEVEL_DBFS`), so mixes sound the same whichever backend spoke.

Errors: 401 → `VoiceError("ELEVENLABS_API_KEY rejected ...")` with no retry; 429 and 5xx are
retried (honouring `retry-after-ms` / `retry-after`, else exponential backoff) up to
`max_retries`, then a clear error. Successful lines are cached on disk, so a paid call is never
made twice for the same text, voice, model, format, settings and seed. The key is read from the
environment variable named by `api_key_env` and never logged or put in messages.
"""

from __future__ import annotations

import io
import os
import re
import time
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from generators.audio.dsp import fade, set_rms_dbfs, trim_silence
from generators.voices.base import Speech, VoiceError, registry
from generators.voices.cache import SpeechCache, speech_key
from generators.voices.prosody import ProsodyPlan
from generators.voices.synth import CachedVoice, LineJob
from generators.voices.whisper import whisperize
from scenes import Character, Delivery, Emotion
from storage import mtavg_home

FORMAT = re.compile(r"^(mp3|pcm|wav)_(\d{4,5})(?:_(\d{2,3}))?$")
ALGORITHM_VERSION = "1"


class ElevenLabsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model_id: str = Field("eleven_multilingual_v2", pattern=r"^[a-z0-9_]{1,64}$")
    output_format: str = "mp3_44100_128"
    base_url: str | None = Field(None, description="API root; default the SDK's production endpoint")
    api_key_env: str = Field("ELEVENLABS_API_KEY", pattern=r"^[A-Z_][A-Z0-9_]{0,63}$")
    voices: dict[str, str] = Field(default_factory=dict, description="character id -> ElevenLabs voice id")
    default_voices: dict[str, str] = Field(
        default_factory=lambda: {
            "female": "21m00Tcm4TlvDq8ikWAM",  # premade "Rachel"
            "male": "pNInz6obpgDQGcFmaJgB",  # premade "Adam"
            "neutral": "EXAVITQu4vr4xnSDxMaL",  # premade "Sarah"
        },
        description="Voice.gender -> voice id for characters without their own",
    )
    max_retries: int = Field(4, ge=0, le=10)
    backoff_s: float = Field(1.0, ge=0.0)
    max_backoff_s: float = Field(30.0, ge=0.0)
    timeout_s: float = Field(60.0, gt=0)
    cache: bool = True
    cache_dir: Path | None = Field(None, description="default: $MTAVG_HOME/cache/voices/elevenlabs")

    @field_validator("output_format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        if not FORMAT.match(value):
            raise ValueError(f"output_format {value!r} is not supported (use mp3_<rate>_<kbps>, pcm_<rate> or wav_<rate>)")
        return value


def decode_audio(data: bytes, output_format: str) -> tuple[np.ndarray, int]:
    """Decode an ElevenLabs response body: raw little-endian int16 PCM, WAV, or MP3 (pydub/ffmpeg)."""
    match = FORMAT.match(output_format)
    if not match:
        raise VoiceError(f"elevenlabs backend: cannot decode output_format {output_format!r}")
    codec, rate = match.group(1), int(match.group(2))
    if not data:
        raise VoiceError("elevenlabs backend: the API returned no audio")
    if codec == "pcm":
        if len(data) % 2:
            data = data[:-1]
        return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0, rate
    try:
        if codec == "wav":
            with wave.open(io.BytesIO(data)) as wav:
                raw = wav.readframes(wav.getnframes())
                samples = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
                if wav.getnchannels() > 1:
                    samples = samples.reshape(-1, wav.getnchannels()).mean(axis=1)
                return samples, wav.getframerate()
        from pydub import AudioSegment

        segment = AudioSegment.from_file(io.BytesIO(data), format="mp3").set_channels(1).set_sample_width(2)
        return np.frombuffer(segment.raw_data, dtype="<i2").astype(np.float32) / 32768.0, segment.frame_rate
    except Exception as exc:  # noqa: BLE001 - any decoder failure means the body was not audio
        raise VoiceError(f"elevenlabs backend: response is not valid {codec} audio ({type(exc).__name__}: {exc})") from None


def audio_tags(emotion: Emotion, delivery: Delivery) -> str:
    """eleven_v3 audio tags for a line, e.g. "[whispers] [sad] "."""
    tags = {Delivery.whisper: "[whispers]", Delivery.shout: "[shouts]"}.get(delivery, "")
    mood = "" if emotion is Emotion.neutral else f"[{emotion.value}]"
    return " ".join(t for t in (tags, mood) if t) + (" " if tags or mood else "")


class ElevenLabsVoice(CachedVoice):
    """Text to speech through the ElevenLabs SDK with retries, clear errors and a disk cache."""

    name = "elevenlabs"

    def __init__(self, config: ElevenLabsConfig | None = None, *, sleep: Callable[[float], None] = time.sleep):
        self.config = config or ElevenLabsConfig()
        self.cache = SpeechCache(Path(self.config.cache_dir or mtavg_home() / "cache" / "voices" / "elevenlabs"), self.config.cache)
        self._sleep = sleep
        self._client = None

    @property
    def version(self) -> str:
        return f"{self.config.model_id}/{self.config.output_format}/{ALGORITHM_VERSION}"

    def __getstate__(self) -> dict:
        # the HTTP client (and its key) is rebuilt in the receiving process, never pickled
        return {**self.__dict__, "_client": None}

    def voice_id(self, character: Character) -> str:
        voice = character.voice
        if voice.elevenlabs_voice_id:
            return voice.elevenlabs_voice_id
        if character.id in self.config.voices:
            return self.config.voices[character.id]
        try:
            return self.config.default_voices[voice.gender]
        except KeyError:
            raise VoiceError(f"elevenlabs backend: no voice id for character {character.id!r} (gender {voice.gender!r}); "
                             "set voice.elevenlabs_voice_id or the backend's voices/default_voices") from None  # fmt: skip

    def request(self, text: str, character: Character, plan: ProsodyPlan, emotion: Emotion, delivery: Delivery, seed: int) -> dict:
        """The keyword arguments of `text_to_speech.convert` for one line."""
        speed = float(np.clip(character.voice.rate * plan.rate_factor, 0.7, 1.2))
        if self.config.model_id.startswith("eleven_v3"):
            text = audio_tags(emotion, delivery) + text
        return {
            "voice_id": self.voice_id(character),
            "text": text,
            "model_id": self.config.model_id,
            "output_format": self.config.output_format,
            "voice_settings": {"stability": plan.stability, "similarity_boost": 0.75, "style": plan.style, "speed": round(speed, 3)},
            "seed": int(seed) % 4294967296,
        }

    def _api_key(self) -> str:
        key = os.environ.get(self.config.api_key_env, "").strip()
        if not key:
            raise VoiceError(f"elevenlabs backend: {self.config.api_key_env} is not set (export it, or pick the espeak backend)")
        return key

    def _get_client(self):
        if self._client is None:
            from elevenlabs import ElevenLabs

            kwargs = {"api_key": self._api_key(), "timeout": self.config.timeout_s}
            if self.config.base_url:
                kwargs["base_url"] = self.config.base_url
            self._client = ElevenLabs(**kwargs)
        return self._client

    def cache_key(self, line: LineJob) -> str:
        return speech_key({"v": self.version, "post": line.plan.__dict__, **self._line_request(line)})

    def speak(self, line: LineJob) -> Speech:
        samples, rate = decode_audio(self._call(self._line_request(line)), self.config.output_format)
        samples = trim_silence(samples, rate)
        if not len(samples):
            raise VoiceError(f"elevenlabs backend: the audio for {line.text[:40]!r} was silent")
        if line.plan.breathy and not self.config.model_id.startswith("eleven_v3"):
            samples = whisperize(samples, rate, seed=line.seed)
        return Speech(fade(np.clip(set_rms_dbfs(samples, line.plan.level_dbfs), -1.0, 1.0), rate), rate)

    def _line_request(self, line: LineJob) -> dict:
        return self.request(line.text, line.character, line.plan, line.emotion, line.delivery, line.seed)

    def _call(self, request: dict) -> bytes:
        """POST the line, retrying 429/5xx with backoff; 401 and other 4xx fail at once."""
        import httpx
        from elevenlabs import VoiceSettings
        from elevenlabs.core.api_error import ApiError

        client = self._get_client()
        kwargs = dict(request, voice_settings=VoiceSettings(**request["voice_settings"]))
        attempt = 0
        while True:
            try:
                chunks = client.text_to_speech.convert(**kwargs, request_options={"max_retries": 0})
                return b"".join(chunks)
            except ApiError as exc:
                status = exc.status_code or 0
                if status == 401:
                    raise VoiceError(f"elevenlabs backend: {self.config.api_key_env} rejected by ElevenLabs (401: "
                                     f"{_detail(exc.body)}); check the key, it was not retried") from None  # fmt: skip
                if status != 429 and status < 500:
                    raise VoiceError(f"elevenlabs backend: request for voice {request['voice_id']!r} failed ({status}: {_detail(exc.body)})") from None
                if attempt >= self.config.max_retries:
                    what = "rate limited (429)" if status == 429 else f"server error ({status})"
                    raise VoiceError(f"elevenlabs backend: {what} after {attempt + 1} attempts; try later or lower concurrency") from None
                self._sleep(self._delay(exc.headers or {}, attempt))
            except httpx.HTTPError as exc:
                if attempt >= self.config.max_retries:
                    raise VoiceError(f"elevenlabs backend: cannot reach the API ({type(exc).__name__}) after {attempt + 1} attempts") from None
                self._sleep(min(self.config.max_backoff_s, self.config.backoff_s * 2**attempt))
            attempt += 1

    def _delay(self, headers: dict, attempt: int) -> float:
        """Seconds to wait: the server's retry-after(-ms) if given, else exponential backoff; capped."""
        lower = {k.lower(): v for k, v in headers.items()}
        try:
            if "retry-after-ms" in lower:
                return min(self.config.max_backoff_s, float(lower["retry-after-ms"]) / 1000.0)
            if "retry-after" in lower:
                return min(self.config.max_backoff_s, float(lower["retry-after"]))
        except ValueError:
            pass  # an HTTP-date or junk: fall back to backoff
        return min(self.config.max_backoff_s, self.config.backoff_s * 2**attempt)


def _detail(body) -> str:
    """The human part of an ElevenLabs error body ({"detail": {"message": ...}})."""
    if isinstance(body, dict):
        detail = body.get("detail", body)
        if isinstance(detail, dict):
            return str(detail.get("message") or detail.get("status") or detail)[:200]
        return str(detail)[:200]
    return str(body)[:200]


@registry.register("elevenlabs", ElevenLabsConfig, summary="ElevenLabs text to speech via the official SDK")
def _build_elevenlabs(config: ElevenLabsConfig, spec=None, **_context) -> ElevenLabsVoice:
    return ElevenLabsVoice(config)
