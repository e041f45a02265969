"""Turn stored verdicts into profiles and comparisons, and describe a run (no Prefect here)."""

from __future__ import annotations

import functools
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any, Iterable

from diagnosers.base import Verdict, VerdictStatus
from diagnosers.compare import Comparison
from diagnosers.profile import FailureProfile, ModeAccuracy, build_profile
from diagnosers.runner import cached_verdicts
from flows.work import ClipRef, DiagnosisRef, items_for_unit, suite_for
from storage import Store, calibration_key, content_key, safe_segment
from taxonomy.items import QAItem
from taxonomy.model import load_taxonomy


def records_for(store: Store, suite_ref: str, diagnoses: Iterable[DiagnosisRef]) -> list[tuple[QAItem, Verdict]]:
    """(item, verdict) for every item the diagnoses asked; an item with no stored verdict counts as an error."""
    out: list[tuple[QAItem, Verdict]] = []
    for ref in diagnoses:
        items = items_for_unit(suite_ref, ref.unit)
        stored = cached_verdicts(ref.judge_identity, ref.media_sha256, items, store)
        for item, verdict in zip(items, stored):
            if verdict is None:  # a concurrent writer lost the race for this one: retried next run
                verdict = Verdict(item_id=item.id, judge=ref.judge_identity["name"], judge_version=ref.judge_identity["version"],
                                  status=VerdictStatus.error, error="no stored verdict")
            out.append((item, verdict))
    return out


class StoredCalibration:
    """A judge's calibration record from the store, read as per-mode accuracy (sensitivity, specificity, counts)."""

    def __init__(self, modes: dict[str, ModeAccuracy], source: str):
        self.modes, self.source = modes, source

    def accuracy(self, mode: str) -> ModeAccuracy | None:
        return self.modes.get(mode)


MIN_LABELS = 10  # below this many labelled positives or negatives a measured Se/Sp is too loose to correct with


def _accuracy_from(record: Any) -> ModeAccuracy | None:
    """Se/Sp and label counts from a stored per-mode calibration record (`diagnosers.evaluation.ModeCalibration`)."""
    get = (lambda k: record.get(k)) if isinstance(record, dict) else (lambda k: getattr(record, k, None))
    tp, fn, tn, fp = (int(get(k) or 0) for k in ("tp", "fn", "tn", "fp"))
    pos, neg = tp + fn, tn + fp
    if pos < MIN_LABELS or neg < MIN_LABELS:
        return None
    return ModeAccuracy(sensitivity=tp / pos, specificity=tn / neg, n_positive=pos, n_negative=neg)


def load_calibration(store: Store, judge_spec: str, identity: dict[str, Any]) -> StoredCalibration | None:
    """The calibration `evaluate_judges` stored for this exact judge (name, version, config), if any."""
    from storage import ComponentSpec

    key = calibration_key(ComponentSpec.parse(judge_spec).label, content_key(identity["name"], identity["version"], identity["config"]))
    if not store.exists(key):
        return None
    data = store.get_json(key)
    table = {m: a for m, rec in (data.get("modes") or {}).items() if (a := _accuracy_from(rec)) is not None}
    return StoredCalibration(table, key) if table else None


def profile_for(
    store: Store, suite_ref: str, clips: list[ClipRef], diagnoses: list[DiagnosisRef], *, generator: str, judge: str, seed: int = 0
) -> FailureProfile:
    """One generator's profile as one judge sees it, from the verdicts in the store."""
    records = records_for(store, suite_ref, diagnoses)
    identity = diagnoses[0].judge_identity if diagnoses else {"name": judge, "version": "?", "config": {}}
    suite = suite_for(suite_ref)
    version = next((c.generator_version for c in clips), "?")
    return build_profile(
        records, generator=generator, generator_version=version, judge=judge, judge_version=identity["version"],
        taxonomy=load_taxonomy(), calibration=load_calibration(store, judge, identity), suite=suite.name if hasattr(suite, "name") else suite_ref,
        suite_hash=suite.content_hash(), seed=seed,
    )


def verdict_counts(diagnoses: Iterable[DiagnosisRef]) -> dict[str, int]:
    total: Counter = Counter()
    for ref in diagnoses:
        total.update(ref.counts)
    return dict(sorted(total.items()))


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """`git describe` of the checkout when there is one, else the installed package version."""
    root = Path(__file__).resolve().parents[1]
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty", "--tags"], cwd=root, capture_output=True,
                             text=True, timeout=5)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        from importlib.metadata import version

        return version("mtavg")
    except Exception:
        return "unknown"


def profile_name(profile: FailureProfile) -> str:
    return safe_segment(f"{profile.generator}--s{profile.seed}--{profile.judge}")


def comparison_name(comparison: Comparison) -> str:
    return safe_segment(f"{comparison.base}--vs--{comparison.candidate}--{comparison.judge}")
