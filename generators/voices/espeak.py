"""espeak-ng voices: offline, deterministic, a distinct voice per character.

The character's `Voice` picks the espeak voice (gender → `en+f3` / `en+m3` / `en`, or `variant`),
its pitch (`-p`, 4 espeak units per step of `Voice.pitch`) and rate (`-s`). The line's emotion and
delivery (see `prosody.py`) move pitch, pitch range (SSML `<prosody range>`), rate and amplitude;
after synthesis the line is trimmed to real speech, whispered lines are made breathy, and the level
is set per delivery (normal -20 dBFS RMS, shout -12 with saturation, whisper -35).

Results are cached as .npy under `cache_dir` by a hash of everything that shapes the audio.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import wave
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from generators.audio.dsp import fade, set_rms_dbfs, soft_clip, trim_silence
from generators.voices.base import Speech, VoiceError, registry
from generators.voices.cache import SpeechCache, speech_key
from generators.voices.prosody import ProsodyPlan
from generators.voices.synth import CachedVoice, LineJob
from generators.voices.whisper import whisperize
from scenes import Character
from storage import mtavg_home

# bump when the synthesis or post-processing changes, so cached lines are not reused
ALGORITHM_VERSION = "1"
BASE_RATE_WPM = 165
PITCH_UNITS_PER_STEP = 4


class EspeakConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    binary: str = "espeak-ng"
    base_voices: dict[str, str] = Field(
        default_factory=lambda: {"female": "en+f3", "male": "en+m3", "neutral": "en"},
        description="espeak voice per Voice.gender; Voice.variant overrides it",
    )
    language: str = Field("en", pattern=r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$")
    cache_dir: Path | None = Field(None, description="default: $MTAVG_HOME/cache/voices/espeak")
    cache: bool = True
    timeout_s: float = Field(30.0, gt=0)


@lru_cache(maxsize=4)
def _espeak_version(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        raise VoiceError(f"espeak backend: {binary!r} not found on PATH (install espeak-ng, e.g. apt-get install espeak-ng)")
    out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10, check=False)
    return out.stdout.strip().split("  Data at")[0]


@lru_cache(maxsize=4)
def _espeak_variants(binary: str) -> frozenset[str]:
    """Variant names espeak-ng knows (the files under `!v/`), e.g. f3, m3, klatt, Alicia."""
    _espeak_version(binary)
    out = subprocess.run([binary, "--voices=variant"], capture_output=True, text=True, timeout=10, check=False)
    return frozenset(m.group(1) for m in re.finditer(r"!v/(\S+)", out.stdout))


def _read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2:
            raise VoiceError(f"espeak wrote {path} with {wav.getsampwidth() * 8}-bit samples, expected 16")
        rate = wav.getframerate()
        channels = wav.getnchannels()
        data = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
    if channels > 1:
        data = data.reshape(-1, channels).mean(axis=1)
    return data, rate


class EspeakVoice(CachedVoice):
    """espeak-ng speech synthesis via subprocess, with per-line caching."""

    name = "espeak"

    def __init__(self, config: EspeakConfig | None = None):
        self.config = config or EspeakConfig()
        self.cache = SpeechCache(Path(self.config.cache_dir or mtavg_home() / "cache" / "voices" / "espeak"), self.config.cache)

    @property
    def version(self) -> str:
        return f"{_espeak_version(self.config.binary)}/{ALGORITHM_VERSION}"

    def voice_name(self, character: Character) -> str:
        """The espeak -v argument for a character."""
        voice = character.voice
        if voice.variant:
            # a bare variant ("f2", "klatt") rides on the language; a full name ("en-us+m1") is used as is
            if "+" in voice.variant or "-" in voice.variant:
                return voice.variant
            # espeak-ng silently falls back to its default voice for an unknown variant: refuse instead
            known = _espeak_variants(self.config.binary)
            if voice.variant not in known:
                raise VoiceError(f"espeak backend: character {character.id!r} has voice.variant {voice.variant!r}, which espeak-ng "
                                 f"does not have (known: {', '.join(sorted(known)[:12])}, ...)")  # fmt: skip
            return f"{self.config.language}+{voice.variant}"
        return self.config.base_voices.get(voice.gender, self.config.language)

    def command(self, character: Character, plan: ProsodyPlan, out_path: Path) -> list[str]:
        """The espeak-ng argument list for one line (text goes on stdin as SSML)."""
        voice = character.voice
        pitch = int(np.clip(50 + voice.pitch * PITCH_UNITS_PER_STEP + plan.pitch_shift, 0, 99))
        rate = int(np.clip(BASE_RATE_WPM * voice.rate * plan.rate_factor, 80, 450))
        return [
            self.config.binary, "-m", "-z", "--stdin",
            "-v", self.voice_name(character),
            "-p", str(pitch), "-s", str(rate), "-a", str(plan.amplitude),
            "-w", str(out_path),
        ]  # fmt: skip

    @staticmethod
    def ssml(text: str, plan: ProsodyPlan) -> str:
        return f'<speak><prosody range="{plan.pitch_range}">{escape(text)}</prosody></speak>'

    def cache_key(self, line: LineJob) -> str:
        args = self.command(line.character, line.plan, Path("OUT"))
        # the seed only matters for whispers (their noise); other lines are shared across seeds
        return speech_key({"v": self.version, "text": line.text, "args": args[1:-1], "plan": line.plan.__dict__,
                           "seed": line.seed if line.plan.breathy else 0})  # fmt: skip

    def speak(self, line: LineJob) -> Speech:
        samples, rate = self._run(line.text, line.character, line.plan)
        return Speech(self._post_process(samples, rate, line.plan, line.seed), rate)

    def _run(self, text: str, character: Character, plan: ProsodyPlan) -> tuple[np.ndarray, int]:
        with tempfile.TemporaryDirectory(prefix="mtavg-espeak-") as tmp:
            out = Path(tmp) / "line.wav"
            cmd = self.command(character, plan, out)
            _espeak_version(self.config.binary)
            try:
                proc = subprocess.run(cmd, input=self.ssml(text, plan).encode(), capture_output=True, timeout=self.config.timeout_s, check=False)
            except subprocess.TimeoutExpired:
                raise VoiceError(f"espeak backend: espeak-ng took over {self.config.timeout_s} s for {text[:40]!r}") from None
            if proc.returncode != 0 or not out.exists():
                err = proc.stderr.decode(errors="replace").strip()
                raise VoiceError(f"espeak backend: espeak-ng failed (voice {cmd[cmd.index('-v') + 1]!r}, exit {proc.returncode}): {err}")
            samples, rate = _read_wav(out)
        if not len(samples):
            raise VoiceError(f"espeak backend: espeak-ng produced no audio for {text[:40]!r}")
        return samples, rate

    @staticmethod
    def _post_process(samples: np.ndarray, rate: int, plan: ProsodyPlan, seed: int) -> np.ndarray:
        samples = trim_silence(samples, rate)
        if not len(samples):
            raise VoiceError("espeak backend: the line was silent after trimming")
        if plan.breathy:
            samples = whisperize(samples, rate, seed=seed)
        samples = set_rms_dbfs(samples, plan.level_dbfs)
        if plan.saturation:
            samples = soft_clip(samples, plan.saturation)
            samples = set_rms_dbfs(samples, plan.level_dbfs)
        samples = np.clip(samples, -1.0, 1.0)
        return fade(samples, rate)


@registry.register("espeak", EspeakConfig, summary="espeak-ng speech synthesis (offline, default)")
def _build_espeak(config: EspeakConfig, spec=None, **_context) -> EspeakVoice:
    return EspeakVoice(config)
