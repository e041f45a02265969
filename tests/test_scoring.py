"""Scoring per format, roll-ups, and the paper's published averages recomputed."""

from __future__ import annotations

import pytest

from scenes import load_suite
from taxonomy import NONE_OPTION, Answer, Format, load_taxonomy
from taxonomy.qa import scene_items
from taxonomy.scoring import (
    group_means,
    macro_average,
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

# Gemini 3 Flash, accuracy per sub-dimension as published in MTAVG-Bench 2.0
GEMINI_3_FLASH = {"EP": 46.11, "MP": 32.21, "DP": 76.45, "IP": 43.57, "MC": 65.21, "EC": 46.24, "SD": 59.72,
                  "IC": 44.85, "IG": 59.21, "CT": 66.40}


def test_paper_group_and_macro_averages_are_recovered():
    groups = group_means(GEMINI_3_FLASH, "paper")
    assert groups["acting"] == pytest.approx(49.585)
    assert round(groups["atmosphere"], 2) == 57.06
    assert groups["cinematography"] == pytest.approx(56.82)
    assert round(macro_average(GEMINI_3_FLASH), 2) == 54.00


def test_signal_fidelity_stays_out_of_the_macro_average():
    with_sf = {**GEMINI_3_FLASH, "SF": 0.0}
    assert macro_average(with_sf) == pytest.approx(macro_average(GEMINI_3_FLASH))
    assert group_means(with_sf, "dimensions")["signal"] == 0.0


def test_missing_sub_dimensions_are_not_zeros():
    partial = {k: v for k, v in GEMINI_3_FLASH.items() if k != "EP"}
    assert macro_average(partial) is None
    assert macro_average(partial, complete=False) == pytest.approx(sum(partial.values()) / 9)
    assert group_means(partial, "paper")["acting"] is None
    assert group_means(partial, "paper", complete=False)["acting"] == pytest.approx((32.21 + 76.45 + 43.57) / 3)
    dims = group_means(GEMINI_3_FLASH, "dimensions")
    assert dims["narrative"] == pytest.approx((76.45 + 66.40) / 2) and dims["signal"] is None


def test_format_scores():
    assert score_yes_no(Answer.yes(), Answer.yes()) == 1.0 and score_yes_no(Answer.no(), Answer.yes()) == 0.0
    assert score_single(Answer(choices=("ep.a",)), Answer(choices=("ep.a",))) == 1.0
    assert score_single(Answer(choices=("ep.a", "ep.b")), Answer(choices=("ep.a",))) == 0.0
    assert score_pairwise(Answer(choices=("B",)), Answer(choices=("A",))) == 0.0
    gold = Answer(choices=("m.a", "m.b"))
    assert score_multi(Answer(choices=("m.a",)), gold) == (0.5, 1.0)
    everything = Answer(choices=("m.a", "m.b", "m.c", "m.d"))
    assert score_multi(everything, gold) == (1.0, 0.5)  # coverage alone rewards picking everything
    assert score_multi(Answer(choices=(NONE_OPTION,)), Answer(choices=(NONE_OPTION,))) == (1.0, 1.0)
    assert score_multi(Answer(), gold) == (0.0, 0.0)


def test_temporal_pia_and_tla():
    gold = Answer(bins=(2, 3, 4, 5), label="sf.frozen_video")
    scores = score_temporal(Answer(bins=(3, 4, 9), label="sf.frozen_video"), gold)
    assert scores == {"pia": 1.0, "tla": 0.5}
    assert score_temporal(Answer(bins=(), label="none"), gold) == {"pia": 0.0, "tla": 0.0}
    assert score_temporal(Answer(bins=(1,), label="none"), Answer(bins=(), label="none")) == {"pia": 1.0, "tla": None}
    assert score_temporal(Answer(bins=(2,), label="x"), Answer(bins=(2, 3), label=None)) == {"pia": None, "tla": 0.5}


def test_rationale_consistency():
    assert score_rc([5, 4, 3]) == pytest.approx(80.0)
    assert score_rc([]) is None
    with pytest.raises(ValueError, match="outside 1..5"):
        score_rc([0])


@pytest.fixture(scope="module")
def quarrel_items():
    return scene_items(load_suite("mini").scene("kitchen-quarrel"))


def _pick(items, fmt, sub):
    return next(i for i in items if i.format is fmt and i.sub_dimension == sub)


def test_items_without_answer_or_gold_are_not_scored(quarrel_items):
    item = _pick(quarrel_items, Format.yes_no, "DP")
    assert score_item(item, Answer.yes()) is None  # no gold yet
    gold = item.with_gold(Answer.no())
    assert score_item(gold, None) is None
    scored = score_item(gold, Answer.no())
    assert scored.value == 1.0 and scored.sub_dimension == "DP"


def test_item_scores_roll_up(quarrel_items):
    taxonomy = load_taxonomy()
    multi = _pick(quarrel_items, Format.mcq_multi, "SF").with_gold(Answer(choices=("sf.audio_dropout", "sf.frozen_video")))
    temporal = _pick(quarrel_items, Format.temporal, "SF").with_gold(Answer(bins=(1, 2), label="sf.frozen_video"))
    yes_no = _pick(quarrel_items, Format.yes_no, "EP").with_gold(Answer.yes())
    unanswered = _pick(quarrel_items, Format.pairwise, "EP").with_gold(Answer(choices=("A",)))
    answers = {
        multi.id: Answer(choices=("sf.audio_dropout", "sf.lip_sync_offset")),
        temporal.id: Answer(bins=(2,), label="sf.frozen_video"),
        yes_no.id: Answer.no(),
    }
    scores = [score_item(i, answers.get(i.id)) for i in (multi, temporal, yes_no, unanswered)]
    assert scores[0].metrics == {"coverage": 0.5, "precision": 0.5} and scores[0].value == 0.5
    assert scores[1].metrics == {"pia": 1.0, "tla": 0.5} and scores[1].value == 1.0
    assert scores[3] is None
    assert sub_dimension_means(scores) == {"EP": 0.0, "SF": 75.0}
    summary = summarize([multi, temporal, yes_no, unanswered], answers, taxonomy)
    assert summary.scored == 3 and summary.unscored == 1
    assert summary.sub_dimensions == {"EP": 0.0, "SF": 75.0}
    assert summary.macro is None and summary.macro_partial == 0.0
    assert summary.groups["dimensions"]["signal"] == 75.0
    assert summary.multi_precision == {"SF": 50.0} and summary.temporal["tla"] == {"SF": 50.0}
