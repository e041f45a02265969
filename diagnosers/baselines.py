"""Baseline judges: `random` (seeded, uniform), `majority` (most frequent gold per format), `blind` (text only).

They put judge accuracies in context: a judge that does not beat `random` and `majority` measures
nothing, and one that does not beat `blind` answers from the question text, not from the media.
`majority` and `blind` learn from a labelled set (`fit(items)`, or a JSON table named in the spec);
unfitted, they abstain rather than guess.
"""

from __future__ import annotations

import json
import math
import random
import re
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from diagnosers.base import Verdict, VerdictStatus, registry
from storage import ComponentSpec, content_key
from taxonomy.items import NONE_OPTION, Answer, Format, QAItem

VERSION = "1"


class RandomConfig(BaseModel):
    seed: int = Field(0, description="answers are a function of (seed, item id): reruns agree")
    bin_rate: float = Field(0.5, ge=0.0, le=1.0, description="chance that each temporal bin is marked")


class LearntConfig(BaseModel):
    table: str | None = Field(None, description="JSON file written by `fit(...).save(path)`; else call fit()")


def _verdict(judge: Any, item: QAItem, answer: Answer | None, started: float, **evidence: Any) -> Verdict:
    status = VerdictStatus.answered if answer is not None else VerdictStatus.abstained
    return Verdict(
        item_id=item.id, judge=judge.spec.label if judge.spec else judge.name, judge_version=judge.version,
        status=status, answer=answer, evidence=evidence, elapsed_s=time.perf_counter() - started,
    )


def _option_ids(item: QAItem) -> list[str]:
    if item.format is Format.yes_no and not item.options:
        return ["yes", "no"]
    if item.format is Format.pairwise and not item.options:
        return ["A", "B"]
    return [o.id for o in item.options]


class RandomJudge:
    """Uniform over each item's options (one option; temporal bins each marked with `bin_rate`)."""

    name = "random"

    def __init__(self, config: RandomConfig, spec: ComponentSpec | None = None):
        self.config, self.spec = config, spec or ComponentSpec("random")
        self.version = VERSION

    def answer(self, media: Any, items: Sequence[QAItem]) -> list[Verdict]:
        out = []
        for item in items:
            started = time.perf_counter()
            rng = random.Random(content_key(self.config.seed, item.id))
            options = _option_ids(item)
            if not options:
                out.append(_verdict(self, item, None, started, reason="item has no options"))
                continue
            pick = rng.choice(options)
            if item.format is Format.temporal:
                bins = tuple(b for b in range(item.bins or 0) if rng.random() < self.config.bin_rate)
                answer = Answer(bins=bins, label=pick)
            else:
                answer = Answer(choices=(pick,))
            out.append(_verdict(self, item, answer, started))
        return out


def _answer_key(answer: Answer) -> str:
    return json.dumps({"choices": list(answer.choices), "bins": None if answer.bins is None else list(answer.bins), "label": answer.label})


def _answer_from_key(key: str) -> Answer:
    data = json.loads(key)
    return Answer(choices=tuple(data["choices"]), bins=None if data["bins"] is None else tuple(data["bins"]), label=data["label"])


class MajorityJudge:
    """The most frequent gold answer per format (temporal: most frequent label, no bins) in a labelled set."""

    name = "majority"

    def __init__(self, config: LearntConfig, spec: ComponentSpec | None = None):
        self.config, self.spec = config, spec or ComponentSpec("majority")
        self.version = VERSION
        self.table: dict[str, str] = {}
        if config.table:
            self.table = json.loads(Path(config.table).read_text(encoding="utf-8"))["majority"]

    def fit(self, items: Sequence[QAItem]) -> MajorityJudge:
        counts: dict[str, Counter] = defaultdict(Counter)
        for item in items:
            if item.gold is None:
                continue
            gold = item.gold
            if item.format is Format.temporal:
                gold = Answer(bins=(), label=gold.label)
            counts[item.format.value][_answer_key(gold)] += 1
        # ties break on the key text so a refit on the same data gives the same table
        self.table = {fmt: sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[0][0] for fmt, c in counts.items()}
        return self

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps({"majority": self.table}, indent=1), encoding="utf-8")

    def answer(self, media: Any, items: Sequence[QAItem]) -> list[Verdict]:
        out = []
        for item in items:
            started = time.perf_counter()
            key = self.table.get(item.format.value)
            if key is None:
                out.append(_verdict(self, item, None, started, reason=f"no labelled {item.format.value} items were fitted"))
                continue
            answer = _answer_from_key(key)
            valid = set(_option_ids(item))
            wanted = set(answer.choices) | ({answer.label} if answer.label else set())
            if not wanted <= valid:
                # the learnt answer is not an option of this item (e.g. a mode of another sub-dimension)
                fallback = NONE_OPTION if NONE_OPTION in valid else None
                if fallback is None:
                    out.append(_verdict(self, item, None, started, reason="learnt answer is not an option here"))
                    continue
                answer = Answer(bins=(), label=fallback) if item.format is Format.temporal else Answer(choices=(fallback,))
            if item.format is Format.temporal:
                answer = Answer(bins=(), label=answer.label)
            out.append(_verdict(self, item, answer, started))
        return out


TOKEN = re.compile(r"[a-z0-9']+")


def _tokens(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


class BlindJudge:
    """Text only: naive Bayes over the question's words, per format and target modes, fitted on a labelled set.

    It never sees the media, so whatever it scores above chance comes from regularities in the
    question text (the paper's text-only row).
    """

    name = "blind"

    def __init__(self, config: LearntConfig, spec: ComponentSpec | None = None):
        self.config, self.spec = config, spec or ComponentSpec("blind")
        self.version = VERSION
        self.model: dict[str, dict[str, Any]] = {}
        if config.table:
            self.model = json.loads(Path(config.table).read_text(encoding="utf-8"))["blind"]

    @staticmethod
    def _group(item: QAItem) -> str:
        return f"{item.format.value}|{'+'.join(item.modes)}|{item.sub_dimension}"

    @staticmethod
    def _label(item: QAItem) -> str | None:
        gold = item.gold
        if gold is None:
            return None
        if item.format is Format.temporal:
            return gold.label
        return "+".join(sorted(gold.choices)) if gold.choices else None

    def fit(self, items: Sequence[QAItem]) -> BlindJudge:
        model: dict[str, dict[str, Any]] = {}
        for item in items:
            label = self._label(item)
            if label is None:
                continue
            g = model.setdefault(self._group(item), {"prior": {}, "words": {}, "totals": {}, "vocab": []})
            g["prior"][label] = g["prior"].get(label, 0) + 1
            words = g["words"].setdefault(label, {})
            for tok in _tokens(item.question):
                words[tok] = words.get(tok, 0) + 1
                g["totals"][label] = g["totals"].get(label, 0) + 1
        for g in model.values():
            g["vocab"] = len({w for ws in g["words"].values() for w in ws})
        self.model = model
        return self

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps({"blind": self.model}), encoding="utf-8")

    def _predict(self, item: QAItem) -> str | None:
        g = self.model.get(self._group(item))
        if not g:
            return None
        n = sum(g["prior"].values())
        best, best_score = None, -math.inf
        for label in sorted(g["prior"]):
            score = math.log(g["prior"][label] / n)
            words, total = g["words"].get(label, {}), g["totals"].get(label, 0)
            for tok in _tokens(item.question):
                score += math.log((words.get(tok, 0) + 1) / (total + g["vocab"] + 1))
            if score > best_score:
                best, best_score = label, score
        return best

    def answer(self, media: Any, items: Sequence[QAItem]) -> list[Verdict]:
        out = []
        for item in items:
            started = time.perf_counter()
            label = self._predict(item)
            if label is None:
                out.append(_verdict(self, item, None, started, reason="no labelled items of this kind were fitted"))
                continue
            if item.format is Format.temporal:
                answer = Answer(bins=(), label=label)
            else:
                answer = Answer(choices=tuple(label.split("+")))
            out.append(_verdict(self, item, answer, started))
        return out


@registry.register("random", RandomConfig, presets={"default": {}}, summary="seeded uniform choice over options")
def build_random(config: RandomConfig, spec: ComponentSpec | None = None, **_: Any) -> RandomJudge:
    return RandomJudge(config, spec)


@registry.register("majority", LearntConfig, summary="most frequent gold answer per format (fitted)")
def build_majority(config: LearntConfig, spec: ComponentSpec | None = None, **_: Any) -> MajorityJudge:
    return MajorityJudge(config, spec)


@registry.register("blind", LearntConfig, summary="text-only naive Bayes over the question (fitted)")
def build_blind(config: LearntConfig, spec: ComponentSpec | None = None, **_: Any) -> BlindJudge:
    return BlindJudge(config, spec)
