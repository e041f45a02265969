"""Version comparison: McNemar paired by unit, Newcombe interval, Holm, the release gate."""

from __future__ import annotations

import pytest

from diagnosers.compare import Direction, McNemarMethod, compare_profiles
from diagnosers.profile import build_profile
from diagnosers.stats import PairedCounts, mcnemar, paired_difference
from diagnosers.base import Verdict, VerdictStatus
from taxonomy.items import Answer, Format, Level, Option, QAItem



def yes_no(scene: str, mode: str) -> QAItem:
    return QAItem(
        id=f"{scene}/{mode}", template="yes_no", template_version="1", scene=scene, scenes=(scene,),
        level=Level.scene, format=Format.yes_no, sub_dimension=mode[:2].upper(), modes=(mode,),
        question="?", options=(Option(id="yes", text="yes"), Option(id="no", text="no")),
    )


def verdict(item: QAItem, yes: bool) -> Verdict:
    answer = Answer.yes() if yes else Answer.no()
    return Verdict(item_id=item.id, judge="probes", judge_version="1", status=VerdictStatus.answered, answer=answer)


MODES = ["sf.lip_sync_offset", "sd.missing_ambient_sound", "mc.color_emotion_conflict"]


def profile(flagged: dict[str, set[int]], n: int = 30, label: str = "g:a"):
    records = []
    for s in range(n):
        for mode in MODES:
            item = yes_no(f"s{s}", mode)
            records.append((item, verdict(item, yes=s in flagged.get(mode, set()))))
    return build_profile(records, generator=label, generator_version="1", judge="probes", judge_version="1")


def test_mcnemar_exact_and_mid_p():
    assert mcnemar(PairedCounts(3, 0, 6, 21)) == pytest.approx(2 * 0.5 ** 6)
    assert mcnemar(PairedCounts(3, 0, 6, 21), mid_p=True) == pytest.approx(0.5 ** 6)
    assert mcnemar(PairedCounts(5, 0, 0, 5)) == 1.0


def test_paired_difference_interval_contains_estimate_and_flips_with_order():
    counts = PairedCounts(both=5, base_only=2, candidate_only=9, neither=14)
    d = paired_difference(counts)
    assert d.estimate == pytest.approx(7 / 30)
    assert d.low < d.estimate < d.high and -1 <= d.low and d.high <= 1
    flipped = paired_difference(PairedCounts(5, 9, 2, 14))
    assert flipped.estimate == pytest.approx(-d.estimate)
    assert (flipped.low, flipped.high) == pytest.approx((-d.high, -d.low))


def test_finds_regressions_and_improvements_after_holm():
    base = profile({"sf.lip_sync_offset": set(range(20)), "mc.color_emotion_conflict": {1, 2}})
    cand = profile({"sd.missing_ambient_sound": set(range(15)), "mc.color_emotion_conflict": {1, 3}}, label="g:b")
    cmp = compare_profiles(base, cand)
    assert cmp.improvements == ["sf.lip_sync_offset"]
    assert cmp.regressions == ["sd.missing_ambient_sound"]
    color = cmp.mode("mc.color_emotion_conflict")
    assert color.direction is Direction.unchanged and (color.base_only, color.candidate_only) == (1, 1)
    reg = cmp.mode("sd.missing_ambient_sound")
    assert reg.difference == pytest.approx(0.5) and reg.low > 0 and reg.p_holm >= reg.p_value
    assert [m.mode for m in cmp.gate(0.4)] == ["sd.missing_ambient_sound"]
    assert cmp.gate(0.5) == []
    assert cmp.gate(0.6) == []
    untested = cmp.mode("ep.expression_exaggeration")
    assert untested.direction is Direction.untested and untested.pairs == 0


def test_same_flags_give_no_regression_and_pairs_only_shared_units():
    base = profile({"sf.lip_sync_offset": {0, 1, 2}})
    same = profile({"sf.lip_sync_offset": {0, 1, 2}}, n=20, label="g:a")
    cmp = compare_profiles(base, same, method=McNemarMethod.mid_p)
    assert cmp.regressions == [] and cmp.improvements == []
    assert cmp.mode("sf.lip_sync_offset").pairs == 20
    with pytest.raises(ValueError):
        compare_profiles(base, same, alpha=0)
