"""QA items: the questions judges answer about a clip (or a drama's chain of clips), and answers."""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Format(str, Enum):
    yes_no = "yes_no"
    mcq_single = "mcq_single"
    mcq_multi = "mcq_multi"
    pairwise = "pairwise"
    temporal = "temporal"


class Level(str, Enum):
    scene = "scene"
    drama = "drama"


NONE_OPTION = "none"


class Option(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    text: str
    mode: str | None = Field(None, description="the failure mode this option stands for, if any")


class Answer(BaseModel):
    """An answer in any format: option ids (yes/no, A/B, mode ids), time bins, a primary label."""

    model_config = ConfigDict(frozen=True)

    choices: tuple[str, ...] = ()
    bins: tuple[int, ...] | None = None
    label: str | None = None

    @classmethod
    def yes(cls) -> "Answer":
        return cls(choices=("yes",))

    @classmethod
    def no(cls) -> "Answer":
        return cls(choices=("no",))

    @property
    def is_yes(self) -> bool:
        return self.choices == ("yes",)


class QAItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    template: str
    template_version: str
    scene: str | None = None
    drama: str | None = None
    scenes: tuple[str, ...] = Field((), description="the scenes the item is about, in order (drama items: several)")
    level: Level
    format: Format
    sub_dimension: str
    modes: tuple[str, ...]
    question: str
    options: tuple[Option, ...] = ()
    bins: int | None = Field(None, description="number of time bins (temporal items), from the planned timeline")
    bin_s: float = 2.0
    slot: dict[str, Any] = Field(default_factory=dict, description="which line/shot/pair the item is about")
    gold: Answer | None = None

    def with_gold(self, gold: Answer | None) -> "QAItem":
        return self.model_copy(update={"gold": gold})

    def public_json(self) -> dict[str, Any]:
        """The fields `mtavg questions --json` prints."""
        return {
            "id": self.id,
            "scene": self.scene,
            "drama": self.drama,
            "level": self.level.value,
            "format": self.format.value,
            "sub_dimension": self.sub_dimension,
            "modes": list(self.modes),
            "question": self.question,
            "options": [o.model_dump(mode="json") for o in self.options],
            "bins": self.bins,
            "slot": self.slot,
        }
