"""Voice backends: the `Speech` result, the `VoiceBackend` protocol, their registry and spec builder.

A backend turns one scripted line (text, character, emotion, delivery) into mono speech. Backends
are named by the same spec grammar as generators and judges (`storage.spec`):
`espeak` (default, offline), `espeak?cache_dir=/tmp/v`, `elevenlabs?model_id=eleven_v3&output_format=pcm_16000`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from scenes import Character, Delivery, Emotion
from storage.spec import ComponentSpec, Registry

DEFAULT_VOICE_SPEC = "espeak"


class VoiceError(RuntimeError):
    """A backend could not synthesize a line (bad config, rejected key, tool missing, bad audio)."""


@dataclass(frozen=True, eq=False)  # eq on arrays is ambiguous; compare `.samples` explicitly
class Speech:
    """Mono speech for one line: float32 samples in [-1, 1] at `sample_rate` Hz, silence trimmed."""

    samples: np.ndarray
    sample_rate: int

    def __post_init__(self) -> None:
        samples = np.asarray(self.samples, dtype=np.float32)
        if samples.ndim != 1:
            raise ValueError(f"Speech.samples must be mono (1-D), got shape {samples.shape}")
        if self.sample_rate <= 0:
            raise ValueError(f"Speech.sample_rate must be positive, got {self.sample_rate}")
        object.__setattr__(self, "samples", samples)

    @property
    def duration_s(self) -> float:
        return len(self.samples) / float(self.sample_rate)

    @property
    def rms_dbfs(self) -> float:
        """RMS level in dB relative to full scale (-inf for silence)."""
        rms = float(np.sqrt(np.mean(np.square(self.samples, dtype=np.float64)))) if len(self.samples) else 0.0
        return 20.0 * np.log10(rms) if rms > 0 else float("-inf")

    def resampled(self, sample_rate: int) -> Speech:
        """The same speech at another rate (polyphase, so no aliasing)."""
        from generators.audio.dsp import resample

        if sample_rate == self.sample_rate:
            return self
        return Speech(resample(self.samples, self.sample_rate, sample_rate), sample_rate)


@runtime_checkable
class VoiceBackend(Protocol):
    """Speaks one line as a given character, with the line's emotion and delivery."""

    name: str

    def synthesize(
        self,
        text: str,
        character: Character,
        *,
        emotion: Emotion,
        delivery: Delivery,
        seed: int = 0,
    ) -> Speech: ...


registry: Registry[VoiceBackend] = Registry("voice backend")


def build_voice_backend(spec: str | ComponentSpec | None = None) -> VoiceBackend:
    """Backend from a spec such as `espeak` (default) or `elevenlabs?model_id=..&output_format=..`."""
    return registry.build(spec or DEFAULT_VOICE_SPEC)
