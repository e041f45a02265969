"""The failure taxonomy as typed, versioned data (loaded from `taxonomy/data/taxonomy.yaml`)."""

from __future__ import annotations

from enum import Enum
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

DATA = Path(__file__).parent / "data" / "taxonomy.yaml"
MODE_ID_PATTERN = r"^[a-z]{2}\.[a-z0-9_]+$"


class Modality(str, Enum):
    audio = "audio"
    visual = "visual"
    audiovisual = "audiovisual"


class Scope(str, Enum):
    line = "line"
    shot = "shot"
    scene = "scene"
    drama = "drama"


class FailureMode(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=MODE_ID_PATTERN)
    name: str = Field(min_length=1)
    definition: str = Field(min_length=10)
    cues: list[str] = Field(min_length=1)
    modalities: Modality
    scope: Scope

    @property
    def code(self) -> str:
        return self.id.split(".", 1)[0].upper()


class SubDimension(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern=r"^[A-Z]{2}$")
    name: str
    paper: bool = Field(True, description="part of the paper's ten sub-dimensions and its macro average")
    modes: list[FailureMode] = Field(min_length=1)

    @model_validator(mode="after")
    def _ids_match_code(self) -> "SubDimension":
        for mode in self.modes:
            if mode.code != self.code:
                raise ValueError(f"mode {mode.id!r} does not belong to sub-dimension {self.code}")
        return self


class Taxonomy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    sub_dimensions: list[SubDimension]
    groupings: dict[str, dict[str, list[str]]]

    @model_validator(mode="after")
    def _check(self) -> "Taxonomy":
        codes = [s.code for s in self.sub_dimensions]
        if len(set(codes)) != len(codes):
            raise ValueError("duplicate sub-dimension code")
        ids = [m.id for s in self.sub_dimensions for m in s.modes]
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate mode id")
        for name, groups in self.groupings.items():
            grouped = [c for members in groups.values() for c in members]
            unknown = set(grouped) - set(codes)
            if unknown:
                raise ValueError(f"grouping {name!r} names unknown sub-dimensions {sorted(unknown)}")
            if len(set(grouped)) != len(grouped):
                raise ValueError(f"grouping {name!r} puts a sub-dimension in two groups")
        return self

    @property
    def modes(self) -> list[FailureMode]:
        return [m for s in self.sub_dimensions for m in s.modes]

    @property
    def mode_ids(self) -> list[str]:
        return [m.id for m in self.modes]

    @property
    def paper_codes(self) -> list[str]:
        return [s.code for s in self.sub_dimensions if s.paper]

    def mode(self, mode_id: str) -> FailureMode:
        for m in self.modes:
            if m.id == mode_id:
                return m
        raise KeyError(f"unknown failure mode {mode_id!r}")

    def sub_dimension(self, code: str) -> SubDimension:
        for s in self.sub_dimensions:
            if s.code == code.upper():
                return s
        raise KeyError(f"unknown sub-dimension {code!r}")

    def sub_dimension_of(self, mode_id: str) -> str:
        return self.mode(mode_id).code

    def grouping(self, name: str) -> dict[str, list[str]]:
        try:
            return self.groupings[name]
        except KeyError:
            raise KeyError(f"unknown grouping {name!r} (known: {', '.join(self.groupings)})") from None

    def as_json(self) -> dict:
        return {
            "version": self.version,
            "sub_dimensions": [
                {
                    "code": s.code,
                    "name": s.name,
                    "paper": s.paper,
                    "modes": [m.model_dump(mode="json") for m in s.modes],
                }
                for s in self.sub_dimensions
            ],
            "groupings": self.groupings,
        }


@lru_cache(maxsize=None)
def load_taxonomy(path: str | None = None) -> Taxonomy:
    """The bundled taxonomy (or one from a path); cached, it is immutable."""
    data = yaml.safe_load(Path(path or DATA).read_text(encoding="utf-8"))
    return Taxonomy.model_validate(data)
