"""Failure profiles and the statistics under them: Wilson, Rogan–Gladen, unit flags, roll-ups."""

from __future__ import annotations

import pytest

from diagnosers.base import Verdict, VerdictStatus
from diagnosers.profile import ModeAccuracy, build_profile, unit_flags
from diagnosers.stats import holm, rogan_gladen, wilson
from taxonomy.items import Answer, Format, Level, Option, QAItem
from taxonomy.model import load_taxonomy

LINE_MODE = "dp.speaker_identity_error"
SCENE_MODE = "sd.missing_ambient_sound"


def yes_no(scene: str, mode: str, line: int | None = None) -> QAItem:
    slot = {} if line is None else {"line": line}
    return QAItem(
        id=f"{scene}/{mode}/{line}", template="yes_no", template_version="1", scene=scene, scenes=(scene,),
        level=Level.scene, format=Format.yes_no, sub_dimension=mode[:2].upper(), modes=(mode,),
        question="?", options=(Option(id="yes", text="yes"), Option(id="no", text="no")), slot=slot,
    )


def verdict(item: QAItem, status: str = "answered", yes: bool = False) -> Verdict:
    answer = (Answer.yes() if yes else Answer.no()) if status == "answered" else None
    return Verdict(item_id=item.id, judge="t", judge_version="1", status=VerdictStatus(status), answer=answer)


class FixedCalibration:
    def __init__(self, table):
        self.table = table

    def accuracy(self, mode):
        return self.table.get(mode)


def test_wilson_matches_reference_values():
    w = wilson(5, 10)
    assert (round(w.low, 4), round(w.high, 4)) == (0.2366, 0.7634)
    w0 = wilson(0, 10)
    assert w0.low == 0.0 and round(w0.high, 4) == 0.2775
    assert wilson(0, 0) is None
    with pytest.raises(ValueError):
        wilson(11, 10)


def test_rogan_gladen_corrects_and_refuses_uninformative_judges():
    r = rogan_gladen(30, 100, sensitivity=0.9, specificity=0.95, n_positive=60, n_negative=60)
    assert r.estimate == pytest.approx((0.3 + 0.95 - 1) / 0.85)
    assert r.low < r.estimate < r.high
    # a false-positive rate above the observed rate means no real failures: clipped at 0
    assert rogan_gladen(2, 100, 0.9, 0.9, 50, 50).estimate == 0.0
    assert rogan_gladen(10, 100, 0.5, 0.52, 50, 50) is None


def test_holm_adjusts_step_down():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([]) == []


def test_unit_flags_any_yes_flags_all_no_clears_else_unsettled():
    items = [yes_no("s1", LINE_MODE, i) for i in range(3)]
    s2 = [yes_no("s2", LINE_MODE, i) for i in range(3)]
    s3 = [yes_no("s3", LINE_MODE, i) for i in range(2)]
    records = [
        (items[0], verdict(items[0])), (items[1], verdict(items[1], "unparsed")), (items[2], verdict(items[2], yes=True)),
        *[(i, verdict(i)) for i in s2],
        (s3[0], verdict(s3[0])), (s3[1], verdict(s3[1], "error")),
    ]
    flags, statuses = unit_flags(records)
    assert flags == {"s1": {LINE_MODE: True}, "s2": {LINE_MODE: False}, "s3": {LINE_MODE: None}}
    assert statuses == {"answered": 6, "unparsed": 1, "error": 1}


def test_profile_rates_coverage_rollups_and_correction():
    records = []
    for s in range(10):
        scene = f"s{s}"
        line_item = yes_no(scene, LINE_MODE, 0)
        records.append((line_item, verdict(line_item, yes=s < 4)))  # 4 of 10 flagged
        amb = yes_no(scene, SCENE_MODE)
        # two units abstained: coverage 8/10, 2 of the 8 flagged
        records.append((amb, verdict(amb, "abstained") if s >= 8 else verdict(amb, yes=s in (0, 5))))
    calibration = FixedCalibration({LINE_MODE: ModeAccuracy(sensitivity=0.8, specificity=0.9, n_positive=40, n_negative=40)})
    taxonomy = load_taxonomy()
    profile = build_profile(records, generator="g:x", generator_version="1", judge="t", judge_version="1",
                            taxonomy=taxonomy, calibration=calibration)
    line = profile.mode(LINE_MODE)
    assert (line.asked, line.answered, line.flagged, line.coverage) == (10, 10, 4, 1.0)
    assert line.observed.rate == 0.4 and line.observed.low < 0.4 < line.observed.high
    assert line.corrected.rate == pytest.approx((0.4 + 0.9 - 1) / 0.7)
    amb = profile.mode(SCENE_MODE)
    assert (amb.asked, amb.answered, amb.flagged, amb.coverage) == (10, 8, 2, 0.8)
    assert amb.corrected is None
    assert profile.corrected_modes == [LINE_MODE]
    assert profile.mode("ep.expression_exaggeration").asked == 0
    assert profile.mode("ep.expression_exaggeration").observed.rate is None
    dp = next(g for g in profile.sub_dimensions if g.group == "DP")
    assert (dp.answered, dp.flagged) == (10, 4)
    # acting (paper) holds DP only here; atmosphere holds SD: units s0..s7 answered, s0 and s5 flagged
    paper = {g.group: g for g in profile.groupings["paper"]}
    assert (paper["acting"].flagged, paper["atmosphere"].answered, paper["atmosphere"].flagged) == (4, 8, 2)
    dims = {g.group: g for g in profile.groupings["dimensions"]}
    assert dims["narrative"].flagged == 4 and dims["signal"].asked == 0
    assert profile.units == 10 and profile.verdicts == {"abstained": 2, "answered": 18}
    assert profile.flags["s9"] == {LINE_MODE: False}
