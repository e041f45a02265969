"""What the fake omni-model endpoints (Gemini, OpenAI-compatible) share: how a request is answered.

Answers are computed from the request: the items are read from the prompt's `<items>` block, the
media parts are probed with PyAV (which streams are really there), and each item is answered by a
seeded rule, or from an oracle of gold answers with an accuracy that depends on the modalities the
request carries. A grading prompt (`<entries>` block) gets RC-grader ratings instead. `ModelFake`
runs the shared steps (own rate limit, latency, faults, perception, counters); subclasses give the
provider's wire format and error shapes.
"""

from __future__ import annotations

import io
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .base import FakeServer, Fault, Reply, unit

GARBAGE = "Looking at the clip, I would say the first option seems most likely, A."
# faults whose reply carries no usable answers
UNANSWERED = ("garbage", "truncated", "refusal")


@dataclass
class Oracle:
    """Gold answers the server may know, and how often it gives them per (video, audio) present."""

    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    accuracy: dict[tuple[bool, bool], float] = field(
        default_factory=lambda: {(True, True): 0.9, (True, False): 0.72, (False, True): 0.62, (False, False): 0.5}
    )


def probe_streams(data: bytes) -> tuple[bool, bool]:
    """(has video, has audio) of a media file, by opening it with PyAV."""
    import av

    try:
        with av.open(io.BytesIO(data)) as container:
            kinds = {s.type for s in container.streams}
    except Exception:  # noqa: BLE001 - anything PyAV cannot open has no streams
        return False, False
    return "video" in kinds, "audio" in kinds


def answer_item(item: dict[str, Any], seed: int, sees: tuple[bool, bool], oracle: Oracle) -> dict[str, Any]:
    """One item's reply: the oracle's gold with the modality's accuracy, else a seeded choice."""
    options = [o["id"] for o in item.get("options", [])]
    gold = oracle.answers.get(item["id"])
    rng = random.Random(unit(seed, item["id"], sees))
    if gold is not None:
        if rng.random() < oracle.accuracy.get(sees, 0.5):
            chosen = gold
        else:
            wrong = [o for o in options if [o] != list(gold.get("answer", []))] or options
            if item["format"] == "temporal":
                chosen = {"answer": [], "bins": [], "label": rng.choice(wrong)}
                if chosen["label"] != "none" and item.get("bins"):
                    chosen["bins"] = [rng.randrange(item["bins"])]
            else:
                chosen = {"answer": [rng.choice(wrong)]}
        return {"id": item["id"], "answer": list(chosen.get("answer", [])), "bins": list(chosen.get("bins", [])),
                "label": chosen.get("label", ""), "rationale": "fake oracle answer"}
    if item["format"] == "temporal":
        label = rng.choice(options)
        bins = [] if label == "none" or not item.get("bins") else sorted(rng.sample(range(item["bins"]), k=min(2, item["bins"])))
        return {"id": item["id"], "answer": [], "bins": bins, "label": label, "rationale": "fake seeded answer"}
    return {"id": item["id"], "answer": [rng.choice(options)], "bins": [], "label": "", "rationale": "fake seeded answer"}


def grade_entries(prompt: str, seed: int) -> str | None:
    """An RC grader's reply when the prompt is a grading request (<entries> block), else None.

    Rule: a rationale that names the chosen option id scores 5, an empty one 1, others 2-4 seeded.
    """
    if "<entries>" not in prompt:
        return None
    entries = json.loads(prompt[prompt.index("<entries>") + 9 : prompt.rindex("</entries>")])
    ratings = []
    for e in entries:
        answer = e.get("judge_answer") or {}
        chosen = list(answer.get("choices") or []) + ([answer["label"]] if answer.get("label") else [])
        rationale = e.get("judge_rationale") or ""
        if not rationale.strip():
            rating = 1
        elif any(c in rationale for c in chosen):
            rating = 5
        else:
            rating = 2 + int(unit(seed, e["id"], "rc") * 3)
        ratings.append({"id": e["id"], "rating": rating, "reason": "fake grader"})
    return json.dumps({"ratings": ratings})


def spoiled(text: str, fault: Fault | None) -> tuple[str, bool]:
    """The reply text after a `garbage` or `truncated` fault, and whether it was cut short."""
    kind = fault.kind if fault else None
    if kind == "garbage":
        return GARBAGE, False
    if kind == "truncated":
        return text[: max(1, len(text) // 2)], True
    return text, False


class TokenLimit:
    """The server's own rate limit: a token bucket of `rps` with one second of burst."""

    def __init__(self, rps: float):
        self.rps = rps
        self.tokens = rps
        self.stamp = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> float | None:
        """None when allowed, else seconds until a token is free."""
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.rps, self.tokens + (now - self.stamp) * self.rps)
            self.stamp = now
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return None
            return (1.0 - self.tokens) / self.rps


@dataclass
class Answered:
    """The answers to one request's items, as JSON text, and the fault (if any) that shapes the reply."""

    text: str
    fault: Fault | None
    kind: str | None


class ModelFake(FakeServer):
    """A multimodal model endpoint: rate limit, latency, faults, perception, seeded or oracle answers, counters."""

    def __init__(self, *, oracle: Oracle | None = None, seed: int = 0, latency_s: float = 0.0,
                 rps_limit: float | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.oracle = oracle or Oracle()
        self.seed = seed
        self.latency_s = latency_s
        self.limit = TokenLimit(rps_limit) if rps_limit else None
        self.calls_per_item: Counter[str] = Counter()  # item id → model requests that asked it
        self.answered_per_item: Counter[str] = Counter()  # item id → successful model replies containing it
        self.rate_limited = 0
        self.call_times: list[float] = []
        self.media_seen: list[tuple[bool, bool]] = []  # (video, audio) the model could perceive, per answered call

    # --- the provider's wire format -------------------------------------------------------------
    def failure(self, kind: str, model: str, wait_s: float = 0.0) -> Reply:
        """The provider's error for `no_items`, `throttled` (own limit, `wait_s`), `429`, `quota`, `500`, `503`."""
        raise NotImplementedError

    def record(self, request: dict[str, Any]) -> None:
        """Keep what the tests inspect of an item request (called under the lock)."""

    # --- the shared steps -----------------------------------------------------------------------
    def over_limit(self) -> float | None:
        if self.limit is None:
            return None
        wait = self.limit.take()
        if wait is not None:
            with self.lock:
                self.rate_limited += 1
        return wait

    def grade(self, prompt: str) -> str | None:
        """The grader's reply text for a grading prompt (counted as `grade`), else None."""
        graded = grade_entries(prompt, self.seed)
        if graded is not None:
            self.count("grade")
        return graded

    def answer_items(self, request: dict[str, Any], prompt: str, model: str,
                     perceive: Callable[[], tuple[bool, bool] | Reply]) -> Answered | Reply:
        """Answer the prompt's items, or the error reply that stops the request on the way."""
        try:
            items = json.loads(prompt[prompt.index("<items>") + 7 : prompt.rindex("</items>")])
        except ValueError:
            return self.failure("no_items", model)
        ids = [i["id"] for i in items]
        with self.lock:
            self.calls_per_item.update(ids)
            self.call_times.append(time.monotonic())
            self.record(request)
        wait = self.over_limit()
        if wait is not None:
            return self.failure("throttled", model, wait)
        if self.latency_s:
            time.sleep(self.latency_s)
        fault = self.pick_fault(json.dumps(sorted(ids)))
        kind = fault.kind if fault else None
        if kind in ("429", "quota", "500", "503"):
            return self.failure(kind, model)
        if kind == "timeout":
            time.sleep(self.faults.timeout_sleep_s)
        seen = perceive()
        if not isinstance(seen[0], bool):
            return seen  # type: ignore[return-value]  # the provider refused the media
        with self.lock:
            self.media_seen.append(seen)  # type: ignore[arg-type]
            if kind not in UNANSWERED:
                self.answered_per_item.update(ids)
        answers = [answer_item(i, self.seed, seen, self.oracle) for i in items]  # type: ignore[arg-type]
        return Answered(json.dumps({"answers": answers}), fault, kind)
