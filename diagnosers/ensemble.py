"""The ensemble judge: combines member judges per mode, weighted by their measured sensitivity and specificity.

For a yes/no item about mode m, each member whose calibration (from `evaluate_judges`, see
`diagnosers.evaluation.Calibration`) measured m on enough clips votes with its likelihood ratio:
log(sens / (1 - spec)) for "yes", log((1 - sens) / spec) for "no"; the summed log-odds decide. A
member that has not been measured on m does not vote when a measured one answered; when none is
measured, the first member (in the configured order) that answered decides — "whichever judge
covers the mode". Other formats take the answer of the answering member with the best mean
balanced accuracy on the item's modes. Members are asked through the verdict cache when a store
is given, so an ensemble never pays twice for a member's answer. Calibrations are part of the
ensemble's version, so new measurements never reuse verdicts combined with old ones.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field, field_validator

from diagnosers.base import Judge, Verdict, VerdictStatus, build_judge, registry
from storage import ComponentSpec, SpecError, Store, content_key
from taxonomy.items import Format, QAItem

EPS = 0.01  # clamp measured rates away from 0 and 1 so one perfect score cannot veto the rest


class EnsembleConfig(BaseModel):
    """Member judge specs (in fallback order) and how much measurement a vote needs."""

    members: list[str] = Field(min_length=1, description="judge specs; comma-separated in a spec query")
    min_labels: int = Field(10, ge=1, description="answered positives and negatives a member needs on a mode to vote by weight")
    prior_yes: float = Field(0.5, gt=0.0, lt=1.0, description="prior probability that a mode is present")

    @field_validator("members", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @field_validator("members")
    @classmethod
    def _no_self(cls, value: list[str]) -> list[str]:
        for spec in value:
            if ComponentSpec.parse(spec).name == "ensemble":
                raise ValueError("an ensemble cannot contain an ensemble")
        return value


class EnsembleJudge:
    """A judge whose verdicts combine its members' verdicts per mode."""

    name = "ensemble"

    def __init__(self, config: EnsembleConfig, spec: ComponentSpec, members: list[Judge], calibrations: list[Any], store: Store | None):
        self.config = config
        self.spec = spec
        self.members = members
        self.calibrations = calibrations  # one Calibration or None per member
        self.store = store
        stamp = [(c.judge_key, c.created) if c is not None else None for c in calibrations]
        self.version = f"1.{content_key(stamp, [(m.name, str(m.version)) for m in members], length=10)}"

    def _ask(self, member: Judge, media: Any, items: Sequence[QAItem]) -> list[Verdict]:
        if self.store is not None:
            from diagnosers.runner import diagnose_clip

            return diagnose_clip(member, media, items, self.store)
        return list(member.answer(media, items))

    def _mode_stats(self, k: int, mode: str) -> tuple[float, float] | None:
        cal = self.calibrations[k]
        if cal is None or mode not in cal.modes:
            return None
        m = cal.modes[mode]
        if m.tp + m.fn < self.config.min_labels or m.tn + m.fp < self.config.min_labels:
            return None
        sens = min(1 - EPS, max(EPS, m.sensitivity))
        spec = min(1 - EPS, max(EPS, m.specificity))
        return sens, spec

    def _weight(self, k: int, item: QAItem) -> float:
        stats = [self._mode_stats(k, m) for m in item.modes]
        known = [0.5 * (s + p) for s, p in (x for x in stats if x is not None)]
        return sum(known) / len(known) if known else 0.5

    def answer(self, media: Any, items: Sequence[QAItem]) -> list[Verdict]:
        items = list(items)
        per_member = [self._ask(m, media, items) for m in self.members]
        out = []
        for n, item in enumerate(items):
            votes = [(k, per_member[k][n]) for k in range(len(self.members))]
            out.append(self._combine(item, votes))
        return out

    def _combine(self, item: QAItem, votes: list[tuple[int, Verdict]]) -> Verdict:
        answered = [(k, v) for k, v in votes if v.status is VerdictStatus.answered and v.answer is not None]
        cost = sum(v.cost_usd for _, v in votes)
        tokens_in = sum(v.tokens_in for _, v in votes)
        tokens_out = sum(v.tokens_out for _, v in votes)
        members = {self.config.members[k]: v.status.value for k, v in votes}
        base = {"item_id": item.id, "judge": self.name, "judge_version": self.version, "cost_usd": cost, "tokens_in": tokens_in, "tokens_out": tokens_out}
        if not answered:
            statuses = {v.status for _, v in votes}
            status = next(s for s in (VerdictStatus.error, VerdictStatus.unparsed, VerdictStatus.abstained) if s in statuses) if statuses else VerdictStatus.abstained
            errors = "; ".join(f"{self.members[k].name}: {v.error}" for k, v in votes if v.error)
            return Verdict(status=status, error=errors or None, evidence={"members": members}, **base)
        if item.format is Format.yes_no and len(item.modes) == 1:
            mode = item.modes[0]
            weighted = [(k, v, self._mode_stats(k, mode)) for k, v in answered]
            measured = [(k, v, s) for k, v, s in weighted if s is not None]
            if measured:
                logit = math.log(self.config.prior_yes / (1 - self.config.prior_yes))
                contributions = {}
                for k, v, (sens, spec) in measured:
                    llr = math.log(sens / (1 - spec)) if v.answer.is_yes else math.log((1 - sens) / spec)
                    contributions[self.config.members[k]] = round(llr, 4)
                    logit += llr
                winner = next(v for _, v, _ in measured if v.answer.is_yes == (logit > 0)) if any(
                    v.answer.is_yes == (logit > 0) for _, v, _ in measured) else None
                answer = winner.answer if winner is not None else (measured[0][1].answer.__class__.yes() if logit > 0 else measured[0][1].answer.__class__.no())
                evidence = {"members": members, "log_odds": round(logit, 4), "llr": contributions, "rule": "calibrated"}
                rationale = winner.rationale if winner is not None else None
                return Verdict(status=VerdictStatus.answered, answer=answer, rationale=rationale, evidence=evidence, **base)
            k, v = answered[0]
            return Verdict(status=VerdictStatus.answered, answer=v.answer, rationale=v.rationale,
                           evidence={"members": members, "rule": "fallback", "from": self.config.members[k]}, **base)
        k, v = max(answered, key=lambda kv: (self._weight(kv[0], item), -kv[0]))
        return Verdict(status=VerdictStatus.answered, answer=v.answer, rationale=v.rationale,
                       evidence={"members": members, "rule": "best_weight", "from": self.config.members[k],
                                 "weight": round(self._weight(k, item), 4)}, **base)


@registry.register("ensemble", EnsembleConfig, summary="combines judges per mode by measured sensitivity/specificity")
def build_ensemble(config: EnsembleConfig, *, spec: ComponentSpec, store: Store | None = None, **context: Any) -> EnsembleJudge:
    """Build the members (same context), load each one's stored calibration if any."""
    from diagnosers.evaluation import load_calibration

    members = [build_judge(m, store=store, **context) for m in config.members]
    calibrations = []
    for member in members:
        calibrations.append(load_calibration(store, member) if store is not None else None)
    if len({str(ComponentSpec.parse(m)) for m in config.members}) != len(members):
        raise SpecError(f"ensemble {spec}: the same member judge is listed twice")
    return EnsembleJudge(config, spec, members, calibrations, store)
