"""The ensemble judge weighs members by their stored calibration and falls back to whoever covers a mode."""

from __future__ import annotations

import pytest
from fakes.gemini_server import synthetic_clip

from diagnosers import build_judge
from diagnosers.base import Verdict, VerdictStatus
from diagnosers.evaluation import (
    Calibration,
    ModeCalibration,
    judge_key,
    store_calibration,
)
from diagnosers.media import ClipMedia
from diagnosers.runner import cached_verdicts
from scenes.loader import load_suite
from storage import SpecError
from taxonomy.items import Format
from taxonomy.qa import scene_items

A, B = "random?seed=1", "random?seed=2"


@pytest.fixture(scope="module")
def scene():
    return load_suite("mini").scenes[0]


@pytest.fixture(scope="module")
def clip(tmp_path_factory, scene):
    return ClipMedia.open(synthetic_clip(str(tmp_path_factory.mktemp("e") / "e.mp4")), scene)


@pytest.fixture(scope="module")
def yes_no(scene):
    return [i for i in scene_items(scene) if i.format is Format.yes_no]


def calibrate(store, spec: str, modes: dict[str, tuple[int, int, int, int]]) -> None:
    judge = build_judge(spec)
    store_calibration(store, Calibration(
        judge=judge.spec.label, judge_version=str(judge.version), judge_key=judge_key(judge), generator="procedural:flawed",
        suite="mini", clips=60, taxonomy_version="test", created="2026-11-24T00:00:00+00:00",
        modes={m: ModeCalibration(mode=m, tp=tp, fn=fn, tn=tn, fp=fp, asked=tp + fn + tn + fp, answered=tp + fn + tn + fp)
               for m, (tp, fn, tn, fp) in modes.items()},
    ))


def answers(spec: str, clip, items) -> list[Verdict]:
    return build_judge(spec).answer(clip, items)


def test_calibrated_member_outvotes_a_weak_one(tmp_store, clip, yes_no):
    modes = {i.modes[0] for i in yes_no}
    calibrate(tmp_store, A, {m: (45, 5, 45, 5) for m in modes})  # sens = spec = 0.9
    calibrate(tmp_store, B, {m: (28, 22, 26, 24) for m in modes})  # near chance
    ensemble = build_judge(f"ensemble?members={B},{A}", store=tmp_store)
    got = ensemble.answer(clip, yes_no)
    strong, weak = answers(A, clip, yes_no), answers(B, clip, yes_no)
    disagreements = [k for k in range(len(yes_no)) if strong[k].answer != weak[k].answer]
    assert disagreements, "two seeds should disagree somewhere"
    assert all(got[k].answer == strong[k].answer for k in range(len(yes_no)))
    assert all(got[k].evidence["rule"] == "calibrated" for k in disagreements)
    assert all(got[k].status is VerdictStatus.answered and got[k].judge == "ensemble" for k in range(len(yes_no)))


def test_two_weak_agreeing_votes_can_outweigh_a_strong_one_only_if_measured_so(tmp_store, clip, yes_no):
    mode = yes_no[0].modes[0]
    calibrate(tmp_store, A, {mode: (30, 20, 30, 20)})  # 0.6 / 0.6
    calibrate(tmp_store, B, {mode: (49, 1, 49, 1)})  # 0.98 / 0.98
    got = build_judge(f"ensemble?members={A},{B}", store=tmp_store).answer(clip, yes_no[:1])[0]
    assert got.answer == answers(B, clip, yes_no[:1])[0].answer
    assert set(got.evidence["llr"]) == {A, B}


def test_falls_back_to_the_first_member_that_covers_an_unmeasured_mode(tmp_store, clip, yes_no):
    got = build_judge(f"ensemble?members={B},{A}", store=tmp_store).answer(clip, yes_no)
    first = answers(B, clip, yes_no)
    assert [g.answer for g in got] == [f.answer for f in first]
    assert {g.evidence["rule"] for g in got} == {"fallback"}


def test_too_few_labels_do_not_count_as_a_measurement(tmp_store, clip, yes_no):
    mode = yes_no[0].modes[0]
    calibrate(tmp_store, A, {mode: (3, 0, 3, 0)})  # perfect but only 6 labels
    got = build_judge(f"ensemble?members={B},{A}&min_labels=10", store=tmp_store).answer(clip, yes_no[:1])[0]
    assert got.evidence["rule"] == "fallback" and got.answer == answers(B, clip, yes_no[:1])[0].answer


def test_other_formats_take_the_best_measured_member(tmp_store, clip, scene):
    items = [i for i in scene_items(scene) if i.format in (Format.mcq_single, Format.temporal)][:6]
    calibrate(tmp_store, A, {m: (45, 5, 45, 5) for i in items for m in i.modes})
    got = build_judge(f"ensemble?members={B},{A}", store=tmp_store).answer(clip, items)
    assert [g.answer for g in got] == [a.answer for a in answers(A, clip, items)]
    assert {g.evidence["from"] for g in got} == {A}


def test_members_go_through_the_verdict_cache(tmp_store, clip, yes_no):
    ensemble = build_judge(f"ensemble?members={A},{B}", store=tmp_store)
    ensemble.answer(clip, yes_no[:5])
    for member in ensemble.members:
        assert all(v is not None and v.final for v in cached_verdicts(member, clip.sha256, yes_no[:5], tmp_store))


def test_bad_member_lists_are_refused(tmp_store):
    with pytest.raises(SpecError, match="ensemble"):
        build_judge("ensemble?members=ensemble", store=tmp_store)
    with pytest.raises(SpecError, match="twice"):
        build_judge(f"ensemble?members={A},{A}", store=tmp_store)
