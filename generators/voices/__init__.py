"""Voice backends that speak scripted lines: espeak-ng (default, offline) and ElevenLabs."""

import importlib

from generators.voices.base import (
    DEFAULT_VOICE_SPEC,
    Speech,
    VoiceBackend,
    VoiceError,
    build_voice_backend,
    registry,
)
from generators.voices.prosody import ProsodyPlan, prosody_plan

# name -> module that registers it; imported on first use (the ElevenLabs SDK is slow to import)
_BACKENDS = {"espeak": "generators.voices.espeak", "elevenlabs": "generators.voices.elevenlabs"}
for _name, _module in _BACKENDS.items():
    registry.lazy(_name, lambda m=_module: importlib.import_module(m))

__all__ = [
    "DEFAULT_VOICE_SPEC", "ProsodyPlan", "Speech", "VoiceBackend", "VoiceError", "build_voice_backend",
    "prosody_plan", "registry",
]
