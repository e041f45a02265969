"""Failure profiles: per (generator version, judge), how often each failure mode shows, with intervals.

The unit is a clip (scene level) or a drama's chain of clips (drama level). A unit is *flagged* for a
mode when the judge answers "yes" to any of the mode's yes/no items on it (line-scoped modes ask one
item per line), *clear* when it answers "no" to all of them, and *unanswered* otherwise (abstained,
unparsed or error on some item and no "yes"): unanswered units count as coverage, never as rates.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any, Iterable, Mapping, Protocol, Sequence

from pydantic import BaseModel, Field

from diagnosers.base import Verdict, VerdictStatus
from diagnosers.stats import Interval, rogan_gladen, wilson
from taxonomy.items import Format, Level, QAItem
from taxonomy.model import Taxonomy, load_taxonomy


class ModeAccuracy(BaseModel):
    """A judge's measured accuracy on one mode (from judge evaluation): what the correction needs."""

    sensitivity: float = Field(ge=0, le=1)
    specificity: float = Field(ge=0, le=1)
    n_positive: int = Field(ge=0, description="labelled units with the mode present")
    n_negative: int = Field(ge=0, description="labelled units with the mode absent")


class CalibrationLike(Protocol):
    """Anything that can say how accurate a judge is on a mode (`diagnosers.evaluation.Calibration`)."""

    def accuracy(self, mode: str) -> ModeAccuracy | None: ...


class Rate(BaseModel):
    rate: float | None = Field(None, description="flagged / answered")
    low: float | None = Field(None, description="Wilson 95 % lower bound")
    high: float | None = Field(None, description="Wilson 95 % upper bound")

    @classmethod
    def of(cls, interval: Interval | None) -> "Rate":
        if interval is None:
            return cls()
        return cls(rate=interval.estimate, low=interval.low, high=interval.high)


class CorrectedRate(Rate):
    """Judge-error-corrected prevalence (Rogan–Gladen) and the accuracy it used."""

    sensitivity: float
    specificity: float
    n_positive: int
    n_negative: int


class ModeRate(BaseModel):
    mode: str
    sub_dimension: str
    asked: int = Field(description="units with at least one item on this mode")
    answered: int = Field(description="units the judge settled (flagged or clear)")
    flagged: int
    observed: Rate
    coverage: float | None = Field(None, description="answered / asked")
    corrected: CorrectedRate | None = Field(None, description="present only when the judge is calibrated on the mode")

    @property
    def rate(self) -> float | None:
        return self.observed.rate


class GroupRate(BaseModel):
    """A roll-up: share of units with any failure among the group's modes the judge answered."""

    group: str
    modes: list[str]
    asked: int
    answered: int
    flagged: int
    observed: Rate
    coverage: float | None = None
    mean_mode_rate: float | None = Field(None, description="unweighted mean of the answered modes' rates")
    modes_answered: int = 0


class FailureProfile(BaseModel):
    """Failure rates of one generator version as seen by one judge, over one suite."""

    generator: str = Field(description="generator spec label")
    generator_version: str
    judge: str = Field(description="judge spec label")
    judge_version: str
    suite: str = ""
    suite_hash: str = ""
    taxonomy_version: str
    seed: int = 0
    units: int = Field(0, description="clips and drama chains judged")
    verdicts: dict[str, int] = Field(default_factory=dict, description="verdict counts by status")
    modes: list[ModeRate]
    sub_dimensions: list[GroupRate]
    groupings: dict[str, list[GroupRate]] = Field(default_factory=dict)
    corrected_modes: list[str] = Field(default_factory=list, description="modes whose rate is judge-error-corrected")
    flags: dict[str, dict[str, bool]] = Field(default_factory=dict, description="unit → mode → flagged (answered units only)")

    def mode(self, mode_id: str) -> ModeRate:
        for m in self.modes:
            if m.mode == mode_id:
                return m
        raise KeyError(f"profile has no mode {mode_id!r}")

    @property
    def label(self) -> str:
        return f"{self.generator}@{self.generator_version}" + (f"#seed{self.seed}" if self.seed else "")


def unit_of(item: QAItem) -> str:
    """The unit an item is about: its scene, or its drama's chain."""
    if item.level is Level.drama:
        return f"drama:{item.drama}"
    return str(item.scene or (item.scenes[0] if item.scenes else "?"))


def unit_flags(records: Iterable[tuple[QAItem, Verdict]]) -> tuple[dict[str, dict[str, bool | None]], Counter]:
    """unit → mode → True (flagged), False (clear) or None (asked, unsettled); plus status counts."""
    answers: dict[str, dict[str, list[bool | None]]] = defaultdict(lambda: defaultdict(list))
    statuses: Counter = Counter()
    for item, verdict in records:
        if verdict.item_id != item.id:
            raise ValueError(f"verdict for {verdict.item_id} paired with item {item.id}")
        statuses[verdict.status.value] += 1
        if item.format is not Format.yes_no or len(item.modes) != 1:
            continue
        settled: bool | None = None
        if verdict.status is VerdictStatus.answered and verdict.answer is not None:
            settled = verdict.answer.is_yes
        answers[unit_of(item)][item.modes[0]].append(settled)
    flags: dict[str, dict[str, bool | None]] = {}
    for unit, modes in answers.items():
        flags[unit] = {}
        for mode, values in modes.items():
            if any(v is True for v in values):
                flags[unit][mode] = True
            elif values and all(v is False for v in values):
                flags[unit][mode] = False
            else:
                flags[unit][mode] = None
    return flags, statuses


def _group(name: str, modes: Sequence[str], flags: Mapping[str, Mapping[str, bool | None]], rates: Mapping[str, ModeRate]) -> GroupRate:
    asked = answered = flagged = 0
    members = set(modes)
    for per_mode in flags.values():
        mine = {m: v for m, v in per_mode.items() if m in members}
        if not mine:
            continue
        asked += 1
        if any(v is True for v in mine.values()):
            answered += 1
            flagged += 1
        elif any(v is False for v in mine.values()):
            answered += 1
    mode_rates = [rates[m].observed.rate for m in modes if m in rates and rates[m].observed.rate is not None]
    return GroupRate(
        group=name,
        modes=list(modes),
        asked=asked,
        answered=answered,
        flagged=flagged,
        observed=Rate.of(wilson(flagged, answered)),
        coverage=answered / asked if asked else None,
        mean_mode_rate=sum(mode_rates) / len(mode_rates) if mode_rates else None,
        modes_answered=len(mode_rates),
    )


def build_profile(
    records: Iterable[tuple[QAItem, Verdict]],
    *,
    generator: str,
    generator_version: str,
    judge: str,
    judge_version: str,
    taxonomy: Taxonomy | None = None,
    calibration: CalibrationLike | None = None,
    suite: str = "",
    suite_hash: str = "",
    seed: int = 0,
) -> FailureProfile:
    """Per-mode rates with Wilson intervals, corrected rates where calibrated, and both roll-ups."""
    taxonomy = taxonomy or load_taxonomy()
    flags, statuses = unit_flags(records)
    modes: list[ModeRate] = []
    corrected_modes: list[str] = []
    for mode in taxonomy.modes:
        values = [per_mode[mode.id] for per_mode in flags.values() if mode.id in per_mode]
        asked = len(values)
        answered = sum(1 for v in values if v is not None)
        flagged = sum(1 for v in values if v is True)
        corrected = None
        accuracy = calibration.accuracy(mode.id) if calibration is not None else None
        if accuracy is not None and answered:
            interval = rogan_gladen(flagged, answered, accuracy.sensitivity, accuracy.specificity,
                                    accuracy.n_positive, accuracy.n_negative)
            if interval is not None:
                corrected = CorrectedRate(rate=interval.estimate, low=interval.low, high=interval.high,
                                          **accuracy.model_dump())
                corrected_modes.append(mode.id)
        modes.append(ModeRate(
            mode=mode.id, sub_dimension=mode.code, asked=asked, answered=answered, flagged=flagged,
            observed=Rate.of(wilson(flagged, answered)), coverage=answered / asked if asked else None,
            corrected=corrected,
        ))
    by_mode = {m.mode: m for m in modes}
    sub_dimensions = [_group(s.code, [m.id for m in s.modes], flags, by_mode) for s in taxonomy.sub_dimensions]
    groupings: dict[str, list[GroupRate]] = {}
    for grouping, groups in taxonomy.groupings.items():
        groupings[grouping] = [
            _group(group, [m.id for code in codes for m in taxonomy.sub_dimension(code).modes], flags, by_mode)
            for group, codes in groups.items()
        ]
    return FailureProfile(
        generator=generator,
        generator_version=generator_version,
        judge=judge,
        judge_version=judge_version,
        suite=suite,
        suite_hash=suite_hash,
        taxonomy_version=taxonomy.version,
        seed=seed,
        units=len(flags),
        verdicts=dict(sorted(statuses.items())),
        modes=modes,
        sub_dimensions=sub_dimensions,
        groupings=groupings,
        corrected_modes=corrected_modes,
        flags={u: {m: v for m, v in per.items() if v is not None} for u, per in sorted(flags.items())},
    )


def profile_rows(profile: FailureProfile, *, only_asked: bool = True) -> list[dict[str, Any]]:
    """Flat rows (one per mode) for tables and artifacts."""
    rows = []
    for m in profile.modes:
        if only_asked and not m.asked:
            continue
        rows.append({
            "mode": m.mode,
            "asked": m.asked,
            "answered": m.answered,
            "flagged": m.flagged,
            "rate": m.observed.rate,
            "low": m.observed.low,
            "high": m.observed.high,
            "coverage": m.coverage,
            "corrected": m.corrected.rate if m.corrected else None,
            "corrected_low": m.corrected.low if m.corrected else None,
            "corrected_high": m.corrected.high if m.corrected else None,
        })
    return rows
