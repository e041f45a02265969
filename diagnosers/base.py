"""The Judge protocol, verdicts and the judge registry."""

from __future__ import annotations

from enum import Enum
from typing import Any, Protocol, Sequence, runtime_checkable

from pydantic import BaseModel, Field

from storage import ComponentSpec, Registry
from taxonomy.items import Answer, QAItem


class VerdictStatus(str, Enum):
    answered = "answered"  # a readable answer: final, cached, counted
    abstained = "abstained"  # the judge does not cover this item: counted as coverage only
    unparsed = "unparsed"  # the judge replied but no answer could be read: raw kept, retried next run
    error = "error"  # the call failed: retried next run


class Verdict(BaseModel):
    item_id: str
    judge: str
    judge_version: str
    status: VerdictStatus
    answer: Answer | None = None
    rationale: str | None = None
    raw: str | None = Field(None, description="the judge's raw reply when it could not be parsed")
    error: str | None = None
    evidence: dict[str, Any] = Field(default_factory=dict, description="time windows, scores, measurements")
    elapsed_s: float = 0.0
    cost_usd: float = 0.0
    tokens_in: int = 0
    tokens_out: int = 0

    @property
    def final(self) -> bool:
        return self.status is VerdictStatus.answered


@runtime_checkable
class Judge(Protocol):
    name: str
    version: str
    config: BaseModel
    spec: ComponentSpec

    def answer(self, media: Any, items: Sequence[QAItem]) -> list[Verdict]:
        """One verdict per item, in order. `media` is a `ClipMedia` (or a `MediaPair` for pairwise items)."""
        ...


registry: Registry[Judge] = Registry("judge")


def build_judge(spec: str | ComponentSpec, **context: Any) -> Judge:
    return registry.build(spec, **context)
