"""Scoring of each question format, sub-dimension means, the paper's macro average and group means.

An item without an answer or without a gold answer is not scored (None): it is coverage, never a
zero. Scores are fractions in [0, 1] per item; sub-dimension, group and macro figures are
percentages, as the paper reports them.
"""

from __future__ import annotations

from collections import defaultdict
from statistics import fmean
from typing import Iterable, Mapping, Sequence

from pydantic import BaseModel, ConfigDict

from taxonomy.items import Answer, Format, QAItem
from taxonomy.model import Taxonomy, load_taxonomy


class ItemScore(BaseModel):
    """One scored item: `value` is what the sub-dimension mean averages; `metrics` the format's parts."""

    model_config = ConfigDict(frozen=True)

    item: str
    sub_dimension: str
    format: Format
    value: float
    metrics: dict[str, float | None] = {}


def score_yes_no(pred: Answer, gold: Answer) -> float:
    return float(pred.choices == gold.choices)


def score_single(pred: Answer, gold: Answer) -> float:
    """Exact match of the one chosen option."""
    return float(len(pred.choices) == 1 and pred.choices == gold.choices)


def score_multi(pred: Answer, gold: Answer) -> tuple[float, float]:
    """(coverage |pred ∩ gold| / |gold|, precision |pred ∩ gold| / |pred|); an empty pick has precision 0."""
    chosen, wanted = set(pred.choices), set(gold.choices)
    hit = len(chosen & wanted)
    coverage = hit / len(wanted) if wanted else float(not chosen)
    precision = hit / len(chosen) if chosen else 0.0
    return coverage, precision


def score_pairwise(pred: Answer, gold: Answer) -> float:
    return float(len(pred.choices) == 1 and pred.choices == gold.choices)


def score_temporal(pred: Answer, gold: Answer) -> dict[str, float | None]:
    """PIA (primary label right) and TLA (share of gold bins the predicted bins cover).

    PIA is None when the gold label is unknown; TLA is None when no gold bin holds the failure
    (there is nothing to localize).
    """
    pia = None if gold.label is None else float(pred.label == gold.label)
    gold_bins = set(gold.bins or ())
    tla = len(gold_bins & set(pred.bins or ())) / len(gold_bins) if gold_bins else None
    return {"pia": pia, "tla": tla}


def score_rc(ratings: Iterable[float]) -> float | None:
    """Rationale consistency: 1-5 ratings reported as 100 × mean / 5 (None without ratings)."""
    values = list(ratings)
    for r in values:
        if not 1 <= r <= 5:
            raise ValueError(f"rationale rating {r!r} is outside 1..5")
    return 100.0 * fmean(values) / 5.0 if values else None


def score_item(item: QAItem, answer: Answer | None) -> ItemScore | None:
    """Score one answered item against its gold; None when unanswered, without gold or unscorable."""
    gold = item.gold
    if answer is None or gold is None:
        return None
    metrics: dict[str, float | None] = {}
    if item.format is Format.yes_no:
        value = score_yes_no(answer, gold)
    elif item.format is Format.mcq_single:
        value = score_single(answer, gold)
    elif item.format is Format.mcq_multi:
        value, precision = score_multi(answer, gold)
        metrics = {"coverage": value, "precision": precision}
    elif item.format is Format.pairwise:
        value = score_pairwise(answer, gold)
    elif item.format is Format.temporal:
        metrics = score_temporal(answer, gold)
        # the item's accuracy is its label (PIA); without a gold label, its localization (TLA)
        primary = metrics["pia"] if metrics["pia"] is not None else metrics["tla"]
        if primary is None:
            return None
        value = primary
    else:
        raise ValueError(f"unknown format {item.format!r}")
    return ItemScore(item=item.id, sub_dimension=item.sub_dimension, format=item.format, value=value, metrics=metrics)


def sub_dimension_means(scores: Iterable[ItemScore | None]) -> dict[str, float]:
    """Mean item score per sub-dimension, as a percentage; sub-dimensions with no scored item are absent."""
    by_code: dict[str, list[float]] = defaultdict(list)
    for s in scores:
        if s is not None:
            by_code[s.sub_dimension].append(s.value)
    return {code: 100.0 * fmean(values) for code, values in sorted(by_code.items())}


def metric_means(scores: Iterable[ItemScore | None], metric: str) -> dict[str, float]:
    """Mean of one format metric (coverage, precision, pia, tla) per sub-dimension, as a percentage."""
    by_code: dict[str, list[float]] = defaultdict(list)
    for s in scores:
        if s is not None and s.metrics.get(metric) is not None:
            by_code[s.sub_dimension].append(s.metrics[metric])  # type: ignore[arg-type]
    return {code: 100.0 * fmean(values) for code, values in sorted(by_code.items())}


def _mean_of(codes: Sequence[str], sub_scores: Mapping[str, float], complete: bool) -> float | None:
    present = [sub_scores[c] for c in codes if c in sub_scores]
    if not present or (complete and len(present) < len(codes)):
        return None
    return fmean(present)


def macro_average(sub_scores: Mapping[str, float], taxonomy: Taxonomy | None = None,
                  complete: bool = True) -> float | None:
    """Unweighted mean over the paper's ten sub-dimensions (SF excluded).

    With `complete` (the paper's figure) it is None unless all ten are scored; without, it is the
    mean over those that are.
    """
    taxonomy = taxonomy or load_taxonomy()
    return _mean_of(taxonomy.paper_codes, sub_scores, complete)


def group_means(sub_scores: Mapping[str, float], grouping: str = "paper", taxonomy: Taxonomy | None = None,
                complete: bool = True) -> dict[str, float | None]:
    """Unweighted mean of each group's sub-dimensions under a named grouping (`paper`, `dimensions`)."""
    taxonomy = taxonomy or load_taxonomy()
    return {group: _mean_of(codes, sub_scores, complete) for group, codes in taxonomy.grouping(grouping).items()}


class ScoreSummary(BaseModel):
    """Everything the reports show about one set of answers."""

    scored: int
    unscored: int
    sub_dimensions: dict[str, float]
    macro: float | None
    macro_partial: float | None
    groups: dict[str, dict[str, float | None]]
    multi_precision: dict[str, float]
    temporal: dict[str, dict[str, float]]


def summarize(items: Sequence[QAItem], answers: Mapping[str, Answer | None],
              taxonomy: Taxonomy | None = None) -> ScoreSummary:
    """Score every item that has an answer (by item id) and a gold, and roll the scores up."""
    taxonomy = taxonomy or load_taxonomy()
    scores = [score_item(item, answers.get(item.id)) for item in items]
    subs = sub_dimension_means(scores)
    return ScoreSummary(
        scored=sum(s is not None for s in scores),
        unscored=sum(s is None for s in scores),
        sub_dimensions=subs,
        macro=macro_average(subs, taxonomy),
        macro_partial=macro_average(subs, taxonomy, complete=False),
        groups={name: group_means(subs, name, taxonomy, complete=False) for name in taxonomy.groupings},
        multi_precision=metric_means(scores, "precision"),
        temporal={"pia": metric_means(scores, "pia"), "tla": metric_means(scores, "tla")},
    )
