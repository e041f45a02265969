"""The failure taxonomy as data, QA items and their templates, gold answers, and scoring. Knows scenes."""

from taxonomy.gold import ClipTruth, Occurrence, gold_for, gold_from_presence
from taxonomy.items import NONE_OPTION, Answer, Format, Level, Option, QAItem
from taxonomy.model import FailureMode, Modality, Scope, SubDimension, Taxonomy, load_taxonomy
from taxonomy.qa import build_items, drama_items, scene_items
from taxonomy.scoring import (
    ItemScore,
    ScoreSummary,
    group_means,
    macro_average,
    metric_means,
    score_item,
    score_multi,
    score_pairwise,
    score_rc,
    score_single,
    score_temporal,
    score_yes_no,
    sub_dimension_means,
    summarize,
)

__all__ = [
    "Answer", "ClipTruth", "FailureMode", "Format", "Level", "Modality", "NONE_OPTION", "Occurrence", "Option",
    "QAItem", "Scope", "SubDimension", "Taxonomy", "build_items", "drama_items", "gold_for", "gold_from_presence",
    "load_taxonomy", "scene_items", "ItemScore", "ScoreSummary", "group_means", "macro_average", "metric_means",
    "score_item", "score_multi", "score_pairwise", "score_rc", "score_single", "score_temporal", "score_yes_no",
    "sub_dimension_means", "summarize",
]
