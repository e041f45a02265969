"""The procedural generator's settings and its presets (`clean`, `flawed`, `random`, `sparse`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from generators.procedural.faults import FAULT_NAMES

VERSION = "1.4.0"


class ProceduralConfig(BaseModel):
    """Picture, sound and fault-injection settings; every field is part of the clip key."""

    model_config = ConfigDict(extra="forbid")

    width: int = Field(640, ge=64, le=3840)
    height: int = Field(360, ge=64, le=2160)
    fps: float = Field(25.0, gt=1.0, le=120.0)
    sample_rate: int = Field(24000, ge=8000, le=96000, description="mix rate (espeak speaks at 22 kHz; the MP4 carries 48 kHz)")
    voice: str = Field("espeak", description="voice backend spec, e.g. espeak or elevenlabs?model_id=..")
    music: bool = True
    ambience: bool = True
    sound_cues: bool = True
    fault_rate: float = Field(0.0, ge=0.0, le=1.0, description="rate of every fault type without its own rate")
    fault_rates: dict[str, float] = Field(default_factory=dict, description="per fault type: chance of injecting it")
    faults: list[str] = Field(default_factory=list, description="fault types injected wherever applicable")
    severity: float | None = Field(None, ge=0.0, le=1.0, description="fixed severity (else drawn in 0.55..1)")
    crf: int = Field(23, ge=0, le=51)
    encoder_preset: str = "veryfast"
    encoder_threads: int = Field(2, ge=1, le=16, description="fixed, so the same clip encodes to the same bytes anywhere")

    @field_validator("faults", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):  # from a spec query: ?faults=lip_sync_offset,frozen_picture
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @model_validator(mode="after")
    def _check(self) -> ProceduralConfig:
        if self.width % 2 or self.height % 2:
            raise ValueError(f"width and height must be even (H.264 yuv420p), got {self.width}x{self.height}")
        unknown = sorted((set(self.fault_rates) | set(self.faults)) - set(FAULT_NAMES))
        if unknown:
            raise ValueError(f"unknown fault types {unknown}; known: {', '.join(FAULT_NAMES)}")
        bad = {k: v for k, v in self.fault_rates.items() if not 0.0 <= v <= 1.0}
        if bad:
            raise ValueError(f"fault_rates must be in [0, 1], got {bad}")
        return self

    def rate(self, fault: str) -> float:
        return self.fault_rates.get(fault, self.fault_rate) if fault in self.available_faults() else 0.0

    def available_faults(self) -> list[str]:
        """Fault types this config can inject: switching a bed off removes the faults that need it."""
        needs = {"music_opposite": self.music, "music_drift": self.music, "missing_ambience": self.ambience,
                 "missing_sound_cue": self.sound_cues, "background_drowning": self.music or self.ambience}
        return [name for name in FAULT_NAMES if needs.get(name, True)]

    def controlled_modes(self) -> list[str]:
        """Modes whose presence a clip's manifest decides: those of the available faults (never produced otherwise)."""
        from generators.procedural.faults import BY_NAME

        return sorted({m for name in self.available_faults() for m in BY_NAME[name].modes})


# A plausible older model: poor lip sync and flat voices often, the rest now and then.
FLAWED_RATES = {
    "lip_sync_offset": 0.6, "flat_delivery": 0.4, "music_opposite": 0.3, "non_speaker_lip_motion": 0.3,
    "dead_air": 0.3, "overlapping_turns": 0.2, "expression_mismatch": 0.3, "look_change": 0.2,
    "axis_jump": 0.25, "backdrop_drift": 0.2, "frozen_picture": 0.15, "missing_ambience": 0.25,
    "audio_dropout": 0.15, "action_missing": 0.35, "eyeline_failure": 0.25, "lighting_conflict": 0.3,
    "wrong_mouth": 0.1, "background_drowning": 0.1, "missing_sound_cue": 0.3, "jump_cut": 0.3,
    # the older version's grading drifted and fought the mood: the release the clean version fixed
    "colour_conflict": 0.3, "mood_drift": 0.35,
}
PRESETS: dict[str, dict[str, Any]] = {
    "clean": {},
    "flawed": {"fault_rates": FLAWED_RATES},
    "random": {"fault_rate": 0.45},
    # judge evaluation: a few faults per clip (about four), so one fault rarely hides another (decision 084)
    "sparse": {"fault_rate": 0.2},
}
