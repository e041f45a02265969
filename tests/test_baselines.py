"""Baselines score near chance, and unanswered verdicts never count as wrong."""

from __future__ import annotations

import random

import pytest

from diagnosers import build_judge
from diagnosers.base import Verdict, VerdictStatus
from diagnosers.evaluation import Report, score_verdicts
from taxonomy.items import Answer, Format, Level, Option, QAItem


def _yes_no(k: int, gold_yes: bool, mode: str = "sf.frozen_video") -> QAItem:
    return QAItem(
        id=f"item-{k}", template="t", template_version="1", scene="s", scenes=("s",), level=Level.scene,
        format=Format.yes_no, sub_dimension=mode.split(".")[0].upper(), modes=(mode,),
        question=f"Does the picture freeze? (case {k})",
        options=(Option(id="yes", text="yes"), Option(id="no", text="no")),
        gold=Answer.yes() if gold_yes else Answer.no(),
    )


def _pair(k: int, gold: str) -> QAItem:
    return QAItem(
        id=f"pair-{k}", template="p", template_version="1", scene="s", scenes=("s",), level=Level.scene,
        format=Format.pairwise, sub_dimension="SF", modes=("sf.frozen_video",), question="Which freezes more?",
        options=(Option(id="A", text="clip A"), Option(id="B", text="clip B")), gold=Answer(choices=(gold,)),
    )


def _balanced(n: int = 400) -> list[QAItem]:
    rng = random.Random(7)
    return [_yes_no(k, rng.random() < 0.5) for k in range(n)]


def test_random_is_near_chance_and_deterministic():
    items = _balanced() + [_pair(k, "AB"[k % 2]) for k in range(400)]
    judge = build_judge("random?seed=3")
    verdicts = judge.answer(None, items)
    assert [v.answer for v in verdicts] == [v.answer for v in build_judge("random?seed=3").answer(None, items)]
    report = Report("random", judge.version, score_verdicts(items, verdicts))
    for fmt in ("yes_no", "pairwise"):
        acc = report.format_accuracy()[fmt]["accuracy"]
        assert 0.42 < acc < 0.58, (fmt, acc)
    other = build_judge("random?seed=4").answer(None, items)
    assert [v.answer for v in other] != [v.answer for v in verdicts]


def test_majority_learns_the_most_frequent_answer():
    train = [_yes_no(k, k % 4 == 0) for k in range(100)]  # 75 % "no"
    judge = build_judge("majority").fit(train)
    test = [_yes_no(1000 + k, k % 4 == 0) for k in range(100)]
    verdicts = judge.answer(None, test)
    assert all(v.answer == Answer.no() for v in verdicts)
    report = Report("majority", judge.version, score_verdicts(test, verdicts))
    assert report.format_accuracy()["yes_no"]["accuracy"] == pytest.approx(0.75)
    # balanced accuracy of a constant answer is exactly chance
    (mode,) = report.modes().values()
    assert mode.balanced_accuracy == pytest.approx(0.5)


def test_unfitted_learners_abstain(tmp_path):
    items = _balanced(10)
    for spec in ("majority", "blind"):
        verdicts = build_judge(spec).answer(None, items)
        assert {v.status for v in verdicts} == {VerdictStatus.abstained}
    fitted = build_judge("majority").fit(items)
    fitted.save(tmp_path / "m.json")
    again = build_judge(f"majority?table={tmp_path / 'm.json'}")
    assert [v.answer for v in again.answer(None, items)] == [v.answer for v in fitted.answer(None, items)]


def test_blind_is_near_chance_when_the_text_carries_no_signal():
    rng = random.Random(1)
    train = [_yes_no(k, rng.random() < 0.5) for k in range(300)]
    test = [_yes_no(1000 + k, rng.random() < 0.5) for k in range(300)]
    judge = build_judge("blind").fit(train)
    report = Report("blind", judge.version, score_verdicts(test, judge.answer(None, test)))
    (mode,) = report.modes().values()
    assert 0.4 < mode.balanced_accuracy < 0.6


def test_blind_exploits_text_when_it_leaks_the_answer():
    train = [_yes_no(k, k % 2 == 0) for k in range(200)]
    leaky = [i.model_copy(update={"question": i.question + (" frozen!" if i.gold.is_yes else " fine.")}) for i in train]
    judge = build_judge("blind").fit(leaky)
    verdicts = judge.answer(None, leaky)
    assert sum(v.answer == i.gold for v, i in zip(verdicts, leaky)) / len(leaky) > 0.95


@pytest.mark.parametrize("status", [VerdictStatus.abstained, VerdictStatus.unparsed, VerdictStatus.error])
def test_unanswered_verdicts_never_count_as_wrong(status):
    items = [_yes_no(k, True) for k in range(10)]
    verdicts = [Verdict(item_id=i.id, judge="x", judge_version="1", status=VerdictStatus.answered, answer=Answer.yes())
                for i in items[:4]]
    verdicts += [Verdict(item_id=i.id, judge="x", judge_version="1", status=status, raw="garbage") for i in items[4:]]
    report = Report("x", "1", score_verdicts(items, verdicts))
    assert report.format_accuracy()["yes_no"] == {"asked": 10, "answered": 4, "accuracy": 1.0}
    (mode,) = report.modes().values()
    assert (mode.tp, mode.fn, mode.asked, mode.answered) == (4, 0, 10, 4)
    assert mode.coverage == pytest.approx(0.4)
    assert report.coverage()[status.value] == 6
