"""Reading a judge's reply without guessing: structured JSON, then a strict fallback, else unparsed.

Accepted, in order: the whole reply as the JSON object of `schema.BatchReply` (or its `answers`
list); exactly one fenced ```json block holding that; exact `ANSWER <item id>: <option ids>` lines
(`ANSWER: <option ids>` when the batch has one item) with `BINS <item id>: <ints>` for temporal
items. Every answer is then checked against its item (known option ids, one choice where one is
asked, bins in range). Anything else leaves the item unreadable with a reason; the caller keeps
the raw text. No first-letter matching, no default option.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from diagnosers.omni.schema import BatchReply, ItemReply
from taxonomy.items import NONE_OPTION, Answer, Format, QAItem

FENCE = re.compile(r"```(?:json|JSON)?[ \t]*\n(.*?)\n?```", re.DOTALL)
ANSWER_LINE = re.compile(r"^\s*ANSWER(?:\s+(?P<id>[^\s:]+))?\s*:\s*(?P<value>.*?)\s*$")
BINS_LINE = re.compile(r"^\s*BINS(?:\s+(?P<id>[^\s:]+))?\s*:\s*(?P<value>.*?)\s*$")


@dataclass(frozen=True)
class Reading:
    """One item's outcome: an answer, or the reason there is none."""

    answer: Answer | None = None
    rationale: str | None = None
    problem: str | None = None


def _from_json(obj: Any) -> list[ItemReply] | None:
    if isinstance(obj, list):
        obj = {"answers": obj}
    if not isinstance(obj, dict) or "answers" not in obj:
        return None
    try:
        return BatchReply.model_validate(_normalise(obj)).answers
    except ValidationError:
        return None


def _normalise(obj: dict[str, Any]) -> dict[str, Any]:
    """Accept a bare string answer and null fields: shapes the schema allows loosely, not guesses."""
    answers = []
    for entry in obj.get("answers") or []:
        if isinstance(entry, dict):
            entry = dict(entry)
            if isinstance(entry.get("answer"), str):
                entry["answer"] = [entry["answer"]]
            for key, empty in (("answer", []), ("bins", []), ("label", ""), ("rationale", "")):
                if entry.get(key) is None:
                    entry[key] = empty
        answers.append(entry)
    return {"answers": answers}


def _from_lines(text: str, items: Sequence[QAItem]) -> list[ItemReply] | None:
    answers: dict[str, list[str]] = {}
    bins: dict[str, list[int]] = {}
    single = items[0].id if len(items) == 1 else None
    for line in text.splitlines():
        for pattern, sink in ((ANSWER_LINE, answers), (BINS_LINE, bins)):
            m = pattern.match(line)
            if not m:
                continue
            item_id = m.group("id") or single
            if item_id is None or item_id in sink:
                return None  # an unnamed answer in a batch, or two answers for one item: ambiguous
            values = [v.strip() for v in m.group("value").split(",") if v.strip()]
            if sink is bins:
                if not all(re.fullmatch(r"\d+", v) for v in values):
                    return None
                bins[item_id] = [int(v) for v in values]
            else:
                answers[item_id] = values
    if not answers:
        return None
    replies = []
    for item_id, values in answers.items():
        item = next((i for i in items if i.id == item_id), None)
        if item is not None and item.format is Format.temporal:
            label = values[0] if len(values) == 1 else ""
            replies.append(ItemReply(id=item_id, answer=[], bins=bins.get(item_id, []), label=label))
        else:
            replies.append(ItemReply(id=item_id, answer=values, bins=bins.get(item_id, [])))
    return replies


def extract(text: str, items: Sequence[QAItem]) -> tuple[list[ItemReply] | None, str]:
    """The item replies found in a raw reply and how they were found (json, fence, lines, none)."""
    stripped = text.strip()
    try:
        found = _from_json(json.loads(stripped))
        if found is not None:
            return found, "json"
    except ValueError:
        pass
    fences = FENCE.findall(text)
    if len(fences) == 1:
        try:
            found = _from_json(json.loads(fences[0]))
            if found is not None:
                return found, "fence"
        except ValueError:
            pass
    found = _from_lines(text, items)
    if found is not None:
        return found, "lines"
    return None, "none"


def _option_id(item: QAItem, value: str) -> str | None:
    """The item's option id equal to `value` (case-insensitive, exact otherwise)."""
    wanted = value.strip().lower()
    for option in item.options:
        if option.id.lower() == wanted:
            return option.id
    return None


def check(item: QAItem, reply: ItemReply) -> Reading:
    """Validate one reply against its item's format and options."""
    rationale = reply.rationale.strip() or None
    if item.format is Format.temporal:
        label = _option_id(item, reply.label) if reply.label else None
        if label is None:
            return Reading(problem=f"temporal label {reply.label!r} is not an option", rationale=rationale)
        limit = item.bins or 0
        bad = [b for b in reply.bins if not 0 <= b < limit]
        if bad:
            return Reading(problem=f"bins {bad} outside 0..{limit - 1}", rationale=rationale)
        picked = tuple(sorted(set(reply.bins)))
        if label == NONE_OPTION and picked:
            return Reading(problem="label 'none' with failure bins given", rationale=rationale)
        return Reading(answer=Answer(bins=picked, label=label), rationale=rationale)
    ids = []
    for value in reply.answer:
        option = _option_id(item, value)
        if option is None:
            return Reading(problem=f"{value!r} is not an option of this item", rationale=rationale)
        if option not in ids:
            ids.append(option)
    if not ids:
        return Reading(problem="no option chosen", rationale=rationale)
    if item.format is not Format.mcq_multi and len(ids) != 1:
        return Reading(problem=f"{len(ids)} options chosen where one is asked", rationale=rationale)
    if item.format is Format.mcq_multi and NONE_OPTION in ids and len(ids) > 1:
        return Reading(problem="'none' chosen together with failure modes", rationale=rationale)
    order = {o.id: k for k, o in enumerate(item.options)}
    return Reading(answer=Answer(choices=tuple(sorted(ids, key=order.__getitem__))), rationale=rationale)


def read(text: str, items: Sequence[QAItem]) -> tuple[dict[str, Reading], str]:
    """Each item's reading from a raw reply; items the reply does not answer get a problem."""
    replies, how = extract(text, items)
    if replies is None:
        return {item.id: Reading(problem="no structured answer, fenced JSON or ANSWER line found") for item in items}, how
    by_id: dict[str, ItemReply] = {}
    duplicated: set[str] = set()
    for reply in replies:
        if reply.id in by_id:
            duplicated.add(reply.id)
        by_id[reply.id] = reply
    out = {}
    for item in items:
        if item.id in duplicated:
            out[item.id] = Reading(problem="answered twice")
        elif item.id not in by_id:
            out[item.id] = Reading(problem="the reply has no answer for this item")
        else:
            out[item.id] = check(item, by_id[item.id])
    return out, how
