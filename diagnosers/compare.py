"""Version comparison: per mode, paired by unit (McNemar), difference with an interval, Holm across modes."""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, Field

from diagnosers.profile import FailureProfile
from diagnosers.stats import PairedCounts, holm, mcnemar, paired_difference


class Direction(str, Enum):
    regression = "regression"  # the candidate shows the mode significantly more often
    improvement = "improvement"
    unchanged = "unchanged"
    untested = "untested"  # no unit answered by both


class McNemarMethod(str, Enum):
    exact = "exact"
    mid_p = "mid-p"


class ModeComparison(BaseModel):
    mode: str
    sub_dimension: str
    pairs: int = Field(description="units answered for this mode in both versions")
    both: int
    base_only: int = Field(description="flagged in the base only (the candidate fixed it)")
    candidate_only: int = Field(description="flagged in the candidate only (new failure)")
    base_rate: float | None
    candidate_rate: float | None
    difference: float | None = Field(None, description="candidate rate − base rate over the paired units")
    low: float | None = Field(None, description="Newcombe 95 % interval, lower bound")
    high: float | None = None
    p_value: float | None = None
    p_holm: float | None = None
    direction: Direction = Direction.untested


class Comparison(BaseModel):
    """How a candidate version's failure profile differs from a base version's, on the same units."""

    base: str
    candidate: str
    judge: str
    suite_hash: str = ""
    alpha: float
    method: McNemarMethod
    modes: list[ModeComparison]
    regressions: list[str] = Field(default_factory=list)
    improvements: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)

    def gate(self, threshold: float = 0.0) -> list[ModeComparison]:
        """Significant regressions whose rate increase exceeds `threshold` (what a release pipeline fails on)."""
        return [m for m in self.modes if m.direction is Direction.regression and (m.difference or 0.0) > threshold]

    def mode(self, mode_id: str) -> ModeComparison:
        for m in self.modes:
            if m.mode == mode_id:
                return m
        raise KeyError(f"comparison has no mode {mode_id!r}")


def compare_profiles(
    base: FailureProfile,
    candidate: FailureProfile,
    *,
    alpha: float = 0.05,
    method: McNemarMethod = McNemarMethod.exact,
) -> Comparison:
    """Pair the two profiles' units per mode, test each mode, and call regressions after Holm."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    warnings = []
    if base.judge != candidate.judge or base.judge_version != candidate.judge_version:
        warnings.append(f"judges differ: {base.judge}@{base.judge_version} vs {candidate.judge}@{candidate.judge_version}")
    if base.suite_hash and candidate.suite_hash and base.suite_hash != candidate.suite_hash:
        warnings.append("suites differ: only units present in both are compared")
    if base.taxonomy_version != candidate.taxonomy_version:
        warnings.append(f"taxonomy versions differ: {base.taxonomy_version} vs {candidate.taxonomy_version}")
    rows: list[ModeComparison] = []
    tested: list[int] = []
    for mode in base.modes:
        pairs = []
        for unit, base_flags in base.flags.items():
            cand_flags = candidate.flags.get(unit)
            if cand_flags is None or mode.mode not in base_flags or mode.mode not in cand_flags:
                continue
            pairs.append((base_flags[mode.mode], cand_flags[mode.mode]))
        counts = PairedCounts.from_pairs(pairs)
        row = ModeComparison(
            mode=mode.mode, sub_dimension=mode.sub_dimension, pairs=counts.n, both=counts.both,
            base_only=counts.base_only, candidate_only=counts.candidate_only,
            base_rate=(counts.both + counts.base_only) / counts.n if counts.n else None,
            candidate_rate=(counts.both + counts.candidate_only) / counts.n if counts.n else None,
        )
        if counts.n:
            diff = paired_difference(counts)
            assert diff is not None
            row.difference, row.low, row.high = diff.estimate, diff.low, diff.high
            row.p_value = mcnemar(counts, mid_p=method is McNemarMethod.mid_p)
            tested.append(len(rows))
        rows.append(row)
    adjusted = holm([rows[i].p_value for i in tested])  # type: ignore[misc]
    for i, p in zip(tested, adjusted):
        row = rows[i]
        row.p_holm = p
        if p < alpha and (row.difference or 0) > 0:
            row.direction = Direction.regression
        elif p < alpha and (row.difference or 0) < 0:
            row.direction = Direction.improvement
        else:
            row.direction = Direction.unchanged
    return Comparison(
        base=base.label,
        candidate=candidate.label,
        judge=base.judge,
        suite_hash=base.suite_hash,
        alpha=alpha,
        method=method,
        modes=rows,
        regressions=[r.mode for r in rows if r.direction is Direction.regression],
        improvements=[r.mode for r in rows if r.direction is Direction.improvement],
        warnings=warnings,
    )
