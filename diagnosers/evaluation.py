"""Judge evaluation on labelled clips: per-mode sensitivity/specificity, per sub-dimension accuracy, calibration.

The inputs are clips whose manifests carry ground truth (injected faults, controlled modes). Gold
answers come from `taxonomy.qa.gold_for`; only items with a gold answer are asked. A verdict counts
only when `answered`: `abstained`, `unparsed` and `error` lower coverage, never accuracy.

`Calibration` is what `evaluate_judges` stores per judge (at `storage.calibration_key(judge,
judge_key)`) and what the ensemble judge and the failure profiles read: per mode, the confusion
counts of the judge's yes/no answers and the sensitivity and specificity computed from them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field

from diagnosers.base import Judge, Verdict, VerdictStatus
from storage import Store, calibration_key, content_key
from taxonomy.items import Format, QAItem
from taxonomy.model import load_taxonomy
from taxonomy.scoring import score_item

# six rounds of the default suite by `procedural:sparse` (about 5 faults a clip): >= 44 clips with and
# >= 150 without each mode (decision 084)
DEFAULT_LABELLED_CLIPS = 264
# the probe judge's models and cuts are fitted on twelve rounds (seeds 0-11): a cut fitted on six flipped
# between near-tied values with the noise of one render (decision 219)
DEFAULT_FITTING_CLIPS = 528
MAX_CLEAN_FPR = 0.04  # cap on false positives over clean clips when a cut is fitted (decisions 109, 174)

# ------------------------------------------------------------------------------ calibration model


class ModeCalibration(BaseModel):
    """A judge's measured yes/no behaviour on one failure mode (counts over answered items)."""

    mode: str
    tp: int = 0
    fn: int = 0
    tn: int = 0
    fp: int = 0
    asked: int = Field(0, description="yes/no items with a gold answer that were put to the judge")
    answered: int = 0

    @property
    def positives(self) -> int:
        return self.tp + self.fn

    @property
    def negatives(self) -> int:
        return self.tn + self.fp

    @property
    def sensitivity(self) -> float | None:
        return self.tp / self.positives if self.positives else None

    @property
    def specificity(self) -> float | None:
        return self.tn / self.negatives if self.negatives else None

    @property
    def balanced_accuracy(self) -> float | None:
        if self.sensitivity is None or self.specificity is None:
            return None
        return 0.5 * (self.sensitivity + self.specificity)

    @property
    def false_positive_rate(self) -> float | None:
        return None if self.specificity is None else 1.0 - self.specificity

    @property
    def coverage(self) -> float | None:
        return self.answered / self.asked if self.asked else None

    def summary(self) -> dict[str, Any]:
        return {
            "mode": self.mode, "tp": self.tp, "fn": self.fn, "tn": self.tn, "fp": self.fp,
            "asked": self.asked, "answered": self.answered, "coverage": _r(self.coverage),
            "sensitivity": _r(self.sensitivity), "specificity": _r(self.specificity),
            "balanced_accuracy": _r(self.balanced_accuracy),
        }


class Calibration(BaseModel):
    """A judge's per-mode sensitivity and specificity, measured on labelled clips.

    Stored as JSON at `calibration/<judge label>/<judge_key>.json`; `judge_key` hashes the judge's
    name, version and config, so a changed judge is never corrected with another's measurements.
    Readers use `sensitivity(mode)` / `specificity(mode)` (None when unmeasured).
    """

    judge: str
    judge_version: str
    judge_key: str
    generator: str
    suite: str
    clips: int
    taxonomy_version: str
    created: str
    modes: dict[str, ModeCalibration] = Field(default_factory=dict)
    sub_dimension_accuracy: dict[str, float | None] = Field(default_factory=dict)
    macro_accuracy: float | None = None

    def sensitivity(self, mode: str) -> float | None:
        m = self.modes.get(mode)
        return m.sensitivity if m else None

    def specificity(self, mode: str) -> float | None:
        m = self.modes.get(mode)
        return m.specificity if m else None

    def accuracy(self, mode: str, min_each: int = 1):
        """The mode's measured accuracy as `diagnosers.profile.ModeAccuracy` (what corrected rates need), or None."""
        from diagnosers.profile import ModeAccuracy

        m = self.modes.get(mode)
        if m is None or m.positives < min_each or m.negatives < min_each:
            return None
        return ModeAccuracy(sensitivity=m.sensitivity, specificity=m.specificity, n_positive=m.positives, n_negative=m.negatives)

    def measured(self, min_each: int = 1) -> list[str]:
        """Modes with at least `min_each` answered positives and negatives."""
        return [k for k, m in self.modes.items() if m.tp + m.fn >= min_each and m.tn + m.fp >= min_each]


def judge_key(judge: Judge) -> str:
    """Identity of a judge for calibration: name, version, config."""
    return content_key(judge.name, judge.version, judge.config.model_dump(mode="json"))


def store_calibration(store: Store, calibration: Calibration) -> str:
    key = calibration_key(calibration.judge, calibration.judge_key)
    store.put_json(key, calibration.model_dump(mode="json"))
    return key


def load_calibration(store: Store, judge: Judge) -> Calibration | None:
    key = calibration_key(judge.spec.label, judge_key(judge))
    if not store.exists(key):
        return None
    return Calibration.model_validate(store.get_json(key))


# ------------------------------------------------------------------------------ scoring records


@dataclass
class Record:
    """One asked item: its gold answer, the verdict, and the item score when answered."""

    item: QAItem
    verdict: Verdict
    score: float | None
    clip: str = ""


@dataclass
class Report:
    judge: str
    judge_version: str
    records: list[Record] = field(default_factory=list)

    def modes(self) -> dict[str, ModeCalibration]:
        """Per mode confusion counts from the yes/no items (line and scene level alike)."""
        out: dict[str, ModeCalibration] = {}
        for r in self.records:
            if r.item.format is not Format.yes_no or r.item.gold is None:
                continue
            mode = r.item.modes[0]
            m = out.setdefault(mode, ModeCalibration(mode=mode))
            m.asked += 1
            if r.verdict.status is not VerdictStatus.answered or r.verdict.answer is None:
                continue
            m.answered += 1
            gold_yes, said_yes = r.item.gold.is_yes, r.verdict.answer.is_yes
            if gold_yes and said_yes:
                m.tp += 1
            elif gold_yes:
                m.fn += 1
            elif said_yes:
                m.fp += 1
            else:
                m.tn += 1
        return dict(sorted(out.items()))

    def format_accuracy(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        groups: dict[str, list[Record]] = defaultdict(list)
        for r in self.records:
            groups[r.item.format.value].append(r)
        for fmt, rs in sorted(groups.items()):
            scored = [r.score for r in rs if r.score is not None]
            out[fmt] = {"asked": len(rs), "answered": len(scored), "accuracy": _r(sum(scored) / len(scored)) if scored else None}
        return out

    def sub_dimension_accuracy(self) -> dict[str, float | None]:
        """Mean item score per sub-dimension over answered items (all formats)."""
        sums: dict[str, list[float]] = defaultdict(list)
        for r in self.records:
            if r.score is not None:
                sums[r.item.sub_dimension].append(r.score)
        return {code: (sum(v) / len(v) if v else None) for code, v in sorted(sums.items())}

    def macro_accuracy(self) -> float | None:
        """The paper's macro average: unweighted mean over its ten sub-dimensions that were scored."""
        paper = set(load_taxonomy().paper_codes)
        vals = [v for k, v in self.sub_dimension_accuracy().items() if k in paper and v is not None]
        return sum(vals) / len(vals) if vals else None

    def coverage(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for r in self.records:
            counts[r.verdict.status.value] += 1
        counts["asked"] = len(self.records)
        return dict(counts)

    def calibration(self, *, judge_key: str, generator: str, suite: str, clips: int) -> Calibration:
        return Calibration(
            judge=self.judge, judge_version=self.judge_version, judge_key=judge_key, generator=generator, suite=suite,
            clips=clips, taxonomy_version=load_taxonomy().version,
            created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            modes=self.modes(), sub_dimension_accuracy=self.sub_dimension_accuracy(), macro_accuracy=self.macro_accuracy(),
        )

    def as_json(self, min_each: int = 30) -> dict[str, Any]:
        modes = self.modes()
        good = [m for m in modes.values() if (m.balanced_accuracy or 0) >= 0.90 and m.positives >= min_each and m.negatives >= min_each]
        return {
            "judge": self.judge,
            "judge_version": self.judge_version,
            "coverage": self.coverage(),
            "modes": [m.summary() for m in modes.values()],
            "formats": self.format_accuracy(),
            "sub_dimensions": {k: _r(v) for k, v in self.sub_dimension_accuracy().items()},
            "macro_accuracy": _r(self.macro_accuracy()),
            "modes_ba_ge_0_90": len(good),
            "modes_with_enough_labels": sum(1 for m in modes.values() if m.positives >= min_each and m.negatives >= min_each),
        }


def score_verdicts(items: Sequence[QAItem], verdicts: Sequence[Verdict], clip: str = "") -> list[Record]:
    """Pair items with verdicts (by id) and score the answered ones; others keep score None."""
    by_id = {v.item_id: v for v in verdicts}
    out = []
    for item in items:
        verdict = by_id.get(item.id)
        if verdict is None:
            raise ValueError(f"judge returned no verdict for item {item.id}")
        score = None
        if verdict.status is VerdictStatus.answered and verdict.answer is not None and item.gold is not None:
            s = score_item(item, verdict.answer)
            score = _item_value(s)
        out.append(Record(item, verdict, score, clip))
    return out


def _item_value(s: Any) -> float | None:
    """The single accuracy number of an ItemScore (temporal: PIA when defined, else TLA)."""
    if s is None:
        return None
    for name in ("score", "value", "accuracy"):
        v = getattr(s, name, None)
        if isinstance(v, (int, float)):
            return float(v)
    return None


# ------------------------------------------------------------------------------ threshold fitting


def fit_threshold(scores: Iterable[tuple[float, bool]], max_fpr: float = 0.05,
                  clean: Iterable[float] | None = None, max_clean_fpr: float = MAX_CLEAN_FPR) -> dict[str, float] | None:
    """The cut on a score that maximises balanced accuracy under false-positive caps.

    `max_fpr` caps false positives among the labelled negatives; with `clean` (scores of clips
    known to be free of every fault), `max_clean_fpr` caps them there too (decisions 109, 174).
    Candidates are midpoints between consecutive distinct labelled scores; the lowest cut with the
    best balanced accuracy wins. `scale` (spread of the negatives' scores) lets the judge compare
    margins across modes.
    """
    import numpy as np

    pairs = [(float(s), bool(y)) for s, y in scores if s is not None and math.isfinite(s)]
    pos = np.sort([s for s, y in pairs if y])
    neg = np.sort([s for s, y in pairs if not y])
    if len(pos) == 0 or len(neg) == 0:
        return None
    values = np.unique(np.concatenate([pos, neg]))
    candidates = np.concatenate([[values[0] - 1e-6], (values[:-1] + values[1:]) / 2, [values[-1] + 1e-6]])
    tpr = (len(pos) - np.searchsorted(pos, candidates, side="right")) / len(pos)
    fpr = (len(neg) - np.searchsorted(neg, candidates, side="right")) / len(neg)
    ba = 0.5 * (tpr + 1 - fpr)
    ok = fpr <= max_fpr + 1e-12
    clean_scores = np.sort([float(s) for s in clean if s is not None and math.isfinite(s)]) if clean is not None else None
    if clean_scores is not None and len(clean_scores):
        clean_fpr = (len(clean_scores) - np.searchsorted(clean_scores, candidates, side="right")) / len(clean_scores)
        ok &= clean_fpr <= max_clean_fpr + 1e-12
    if not ok.any():
        return None
    k = int(np.argmax(np.where(ok, ba, -1.0)))
    spread = float(np.std(neg)) or 1.0
    out = {"threshold": round(float(candidates[k]), 5), "train_balanced_accuracy": round(float(ba[k]), 4),
           "scale": round(spread, 5), "positives": int(len(pos)), "negatives": int(len(neg)),
           "false_positive_rate": round(float(fpr[k]), 4)}
    if clean_scores is not None and len(clean_scores):
        out["clean_negatives"] = int(len(clean_scores))
        out["clean_false_positive_rate"] = round(float(clean_fpr[k]), 4)
    return out


def _r(x: float | None, nd: int = 4) -> float | None:
    return None if x is None else round(float(x), nd)
