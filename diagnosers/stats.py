"""Small, exact statistics for failure rates: Wilson intervals, Rogan–Gladen correction, McNemar, Holm."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from scipy.stats import binom, norm

Z95 = float(norm.ppf(0.975))


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float


def wilson(successes: int, n: int, z: float = Z95) -> Interval | None:
    """Wilson score interval of a binomial proportion; None when nothing was observed."""
    if n <= 0:
        return None
    if not 0 <= successes <= n:
        raise ValueError(f"successes {successes} outside 0..{n}")
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half))


def rogan_gladen(
    flagged: int, n: int, sensitivity: float, specificity: float, n_positive: int, n_negative: int, z: float = Z95
) -> Interval | None:
    """Prevalence corrected for judge error, (p + Sp − 1)/(Se + Sp − 1), clipped to [0, 1].

    The interval is the delta-method one that also carries the uncertainty of the measured
    sensitivity and specificity (Greenland 1996): Var = [Var p + π² Var Se + (1−π)² Var Sp] / J².
    None when the judge is no better than chance on the mode (Youden J ≤ 0.05): no correction exists.
    """
    if n <= 0:
        return None
    youden = sensitivity + specificity - 1
    if youden <= 0.05:
        return None
    p = flagged / n
    raw = (p + specificity - 1) / youden
    pi = min(1.0, max(0.0, raw))
    var_p = p * (1 - p) / n
    var_se = sensitivity * (1 - sensitivity) / max(n_positive, 1)
    var_sp = specificity * (1 - specificity) / max(n_negative, 1)
    # a floor keeps the interval from collapsing to a point when every count is 0 or n
    var = (var_p + pi * pi * var_se + (1 - pi) ** 2 * var_sp) / (youden * youden)
    half = z * math.sqrt(max(var, 0.25 / (n * n)))
    return Interval(pi, max(0.0, pi - half), min(1.0, pi + half))


@dataclass(frozen=True)
class PairedCounts:
    """2×2 table of paired binary outcomes: base flagged (1/0) × candidate flagged (1/0)."""

    both: int
    base_only: int
    candidate_only: int
    neither: int

    @property
    def n(self) -> int:
        return self.both + self.base_only + self.candidate_only + self.neither

    @classmethod
    def from_pairs(cls, pairs: Sequence[tuple[bool, bool]]) -> "PairedCounts":
        both = sum(1 for a, b in pairs if a and b)
        base_only = sum(1 for a, b in pairs if a and not b)
        cand_only = sum(1 for a, b in pairs if b and not a)
        return cls(both, base_only, cand_only, len(pairs) - both - base_only - cand_only)


def mcnemar(counts: PairedCounts, mid_p: bool = False) -> float:
    """Two-sided exact McNemar p-value (binomial on the discordant pairs); mid-p if asked."""
    b, c = counts.base_only, counts.candidate_only
    m = b + c
    if m == 0:
        return 1.0
    k = min(b, c)
    p = min(1.0, 2 * float(binom.cdf(k, m, 0.5)))
    if mid_p:
        p = p - float(binom.pmf(k, m, 0.5))
    return max(0.0, min(1.0, p))


def paired_difference(counts: PairedCounts, z: float = Z95) -> Interval | None:
    """Candidate rate minus base rate with Newcombe's hybrid score interval for paired proportions (method 10)."""
    n = counts.n
    if n == 0:
        return None
    a, b, c, d = counts.both, counts.base_only, counts.candidate_only, counts.neither
    p1, p2 = (a + b) / n, (a + c) / n
    w1, w2 = wilson(a + b, n, z), wilson(a + c, n, z)
    assert w1 is not None and w2 is not None
    denom = (a + b) * (c + d) * (a + c) * (b + d)
    # Newcombe's phi with his n/2 correction when ad > bc (without it a concordant table gets a zero-width interval)
    cross = a * d - b * c
    if cross > 0:
        cross = max(cross - n / 2, 0.0)
    phi = cross / math.sqrt(denom) if denom > 0 else 0.0
    theta = p1 - p2
    dl = math.sqrt(max(0.0, (p1 - w1.low) ** 2 - 2 * phi * (p1 - w1.low) * (w2.high - p2) + (w2.high - p2) ** 2))
    du = math.sqrt(max(0.0, (w1.high - p1) ** 2 - 2 * phi * (w1.high - p1) * (p2 - w2.low) + (p2 - w2.low) ** 2))
    low, high = theta - dl, theta + du
    return Interval(p2 - p1, max(-1.0, -high), min(1.0, -low))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values (family-wise error control), in the input order."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted
