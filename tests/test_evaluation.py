"""Evaluation metrics, threshold fitting and the stored calibration format."""

from __future__ import annotations

import random

import pytest

from diagnosers.base import Verdict, VerdictStatus
from diagnosers.evaluation import (
    Calibration,
    ModeCalibration,
    Report,
    fit_threshold,
    load_calibration,
    score_verdicts,
    store_calibration,
)
from storage import Store, calibration_key
from taxonomy.items import Answer, Format, Level, Option, QAItem


def _item(k: int, mode: str, gold: bool) -> QAItem:
    return QAItem(id=f"{mode}-{k}", template="t", template_version="1", scene="s", scenes=("s",), level=Level.scene,
                  format=Format.yes_no, sub_dimension=mode.split(".")[0].upper(), modes=(mode,), question="?",
                  options=(Option(id="yes", text="yes"), Option(id="no", text="no")),
                  gold=Answer.yes() if gold else Answer.no())


def _verdict(item: QAItem, yes: bool | None) -> Verdict:
    if yes is None:
        return Verdict(item_id=item.id, judge="j", judge_version="1", status=VerdictStatus.abstained)
    return Verdict(item_id=item.id, judge="j", judge_version="1", status=VerdictStatus.answered,
                   answer=Answer.yes() if yes else Answer.no())


def test_confusion_counts_and_rates():
    items = [_item(k, "sf.frozen_video", k < 40) for k in range(100)]
    # 36/40 positives found, 3/60 false alarms, 5 abstentions among negatives
    said = [k < 36 for k in range(40)] + [k < 3 for k in range(55)] + [None] * 5
    report = Report("j", "1", score_verdicts(items, [_verdict(i, s) for i, s in zip(items, said)]))
    m = report.modes()["sf.frozen_video"]
    assert (m.tp, m.fn, m.fp, m.tn) == (36, 4, 3, 52)
    assert m.sensitivity == pytest.approx(0.9) and m.specificity == pytest.approx(52 / 55)
    assert m.balanced_accuracy == pytest.approx(0.5 * (0.9 + 52 / 55))
    assert m.coverage == pytest.approx(0.95)
    out = report.as_json(min_each=30)
    assert out["modes_with_enough_labels"] == 1 and out["modes_ba_ge_0_90"] == 1
    assert out["sub_dimensions"]["SF"] == pytest.approx((36 + 52) / 95, abs=1e-4)
    assert out["macro_accuracy"] is None  # SF is outside the paper's ten sub-dimensions


def test_macro_is_the_unweighted_mean_of_paper_sub_dimensions():
    items = [_item(k, "sd.missing_ambient_sound", True) for k in range(10)] + [_item(k, "mc.music_tone_drift", True) for k in range(30)]
    said = [True] * 10 + [False] * 30
    report = Report("j", "1", score_verdicts(items, [_verdict(i, s) for i, s in zip(items, said)]))
    assert report.macro_accuracy() == pytest.approx(0.5)  # SD 1.0 and MC 0.0, not weighted by item count


def test_fit_threshold_respects_the_false_positive_cap():
    rng = random.Random(0)
    pos = [(rng.gauss(2.0, 1.0), True) for _ in range(200)]
    neg = [(rng.gauss(0.0, 1.0), False) for _ in range(200)]
    fit = fit_threshold(pos + neg, max_fpr=0.05)
    fpr = sum(s > fit["threshold"] for s, _ in neg) / len(neg)
    assert fpr <= 0.05 and fit["threshold"] > 1.0
    assert fit_threshold(pos) is None  # no negatives: nothing to fit


def test_fit_threshold_maximises_balanced_accuracy_under_the_clean_clip_cap():
    rng = random.Random(1)
    pos = [(rng.gauss(2.0, 1.0), True) for _ in range(200)]
    neg = [(rng.gauss(0.0, 1.0), False) for _ in range(200)]
    free = fit_threshold(pos + neg, max_fpr=1.0)
    assert 0.6 < free["threshold"] < 1.4  # unconstrained: near the midpoint of the two classes
    clean = [rng.gauss(1.5, 0.3) for _ in range(100)]  # clean clips that read high on this score
    capped = fit_threshold(pos + neg, max_fpr=1.0, clean=clean, max_clean_fpr=0.03)
    assert sum(c > capped["threshold"] for c in clean) / len(clean) <= 0.03
    assert capped["threshold"] > free["threshold"] and capped["clean_false_positive_rate"] <= 0.03


def test_calibration_round_trip(tmp_path):
    store = Store(str(tmp_path / "store"))
    cal = Calibration(judge="probes", judge_version="1", judge_key="abc", generator="procedural:random", suite="mini",
                      clips=3, taxonomy_version="1", created="2026-01-01T00:00:00+00:00",
                      modes={"sf.frozen_video": ModeCalibration(mode="sf.frozen_video", tp=9, fn=1, tn=18, fp=2, asked=30, answered=30)})
    key = store_calibration(store, cal)
    assert key == calibration_key("probes", "abc")
    back = Calibration.model_validate(store.get_json(key))
    assert back.sensitivity("sf.frozen_video") == pytest.approx(0.9)
    assert back.specificity("sf.frozen_video") == pytest.approx(0.9)
    assert back.sensitivity("sf.audio_dropout") is None
    assert back.measured(min_each=5) == ["sf.frozen_video"]
    acc = back.accuracy("sf.frozen_video")
    assert (acc.sensitivity, acc.n_positive, acc.n_negative) == (0.9, 10, 20)
    assert back.accuracy("sf.frozen_video", min_each=30) is None


def test_load_calibration_matches_judge_identity(tmp_path):
    from diagnosers import build_judge
    from diagnosers.evaluation import judge_key

    store = Store(str(tmp_path / "store"))
    judge = build_judge("random?seed=1")
    assert load_calibration(store, judge) is None
    cal = Calibration(judge=judge.spec.label, judge_version=judge.version, judge_key=judge_key(judge), generator="g",
                      suite="s", clips=1, taxonomy_version="1", created="now")
    store_calibration(store, cal)
    assert load_calibration(store, judge).judge_key == judge_key(judge)
    assert load_calibration(store, build_judge("random?seed=2")) is None
