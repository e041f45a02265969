"""The structured answer a judge returns for a batch of items, as a pydantic model and a JSON schema."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

from taxonomy.items import QAItem


class ItemReply(BaseModel):
    """One item's answer as the model writes it (validated against the item afterwards)."""

    id: str
    answer: list[str] = Field(default_factory=list, description="option ids")
    bins: list[int] = Field(default_factory=list, description="temporal items: indices of 2-second bins showing the failure")
    label: str = Field("", description="temporal items: the primary failure mode id, or 'none'")
    rationale: str = ""


class BatchReply(BaseModel):
    answers: list[ItemReply]


def answer_schema(items: Sequence[QAItem]) -> dict[str, Any]:
    """JSON schema of a batch reply; option ids are an enum so constrained decoders cannot invent one.

    Every property is required and no others are allowed: OpenAI's strict mode demands it, and it
    keeps Gemini's output to exactly the fields the parser reads.
    """
    option_ids = sorted({o.id for item in items for o in item.options})
    item_ids = [item.id for item in items]
    answer_item: dict[str, Any] = {"type": "string"}
    if option_ids:
        answer_item["enum"] = option_ids
    return {
        "type": "object",
        "properties": {
            "answers": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string", "enum": item_ids},
                        "answer": {"type": "array", "items": answer_item},
                        "bins": {"type": "array", "items": {"type": "integer"}},
                        "label": {"type": "string"},
                        "rationale": {"type": "string"},
                    },
                    "required": ["id", "answer", "bins", "label", "rationale"],
                    "additionalProperties": False,
                },
            }
        },
        "required": ["answers"],
        "additionalProperties": False,
    }
