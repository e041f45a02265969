"""The QA builder (`taxonomy.qa`), gold answers from ground truth, and `mtavg questions`."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from typer.testing import CliRunner

from flows.cli import app
from generators.base import Clip, InjectedFault, LineTiming
from scenes import bundled_suites, load_suite, plan_timeline
from taxonomy import NONE_OPTION, Answer, Format, Level, load_taxonomy
from taxonomy.qa import ClipTruth, Occurrence, build_items, drama_items, gold_for, gold_from_presence, scene_items


@pytest.fixture(scope="module")
def mini():
    return load_suite("mini")


@pytest.fixture(scope="module")
def mini_items(mini):
    return build_items(mini)


def _one(items, **match):
    found = [i for i in items if all(getattr(i, k) == v for k, v in match.items() if k != "slot")
             and i.slot == match.get("slot", i.slot)]
    assert len(found) == 1, (match, len(found))
    return found[0]


def test_mini_suite_yields_every_format_level_and_mode_with_unique_ids(mini_items):
    ids = [i.id for i in mini_items]
    assert len(ids) == len(set(ids))
    assert {i.format for i in mini_items} == set(Format)
    assert {i.level for i in mini_items} == set(Level)
    assert {m for i in mini_items for m in i.modes} == set(load_taxonomy().mode_ids)


def test_ids_are_stable_and_follow_the_script(mini, mini_items):
    again = build_items(load_suite("mini"))
    assert [i.id for i in again] == [i.id for i in mini_items]
    quarrel = mini.scene("kitchen-quarrel")
    lines = list(quarrel.lines)
    lines[0] = lines[0].model_copy(update={"text": "You said you'd be home by eight."})
    edited = quarrel.model_copy(update={"lines": lines})
    before = {i.id for i in scene_items(quarrel)}
    after = {i.id for i in scene_items(edited)}
    assert before.isdisjoint(after)  # the scene hash is part of every id
    other = {i.id for i in scene_items(mini.scene("park-bench"))}
    assert other <= {i.id for i in mini_items}


def test_line_items_quote_the_script_one_per_line(mini):
    quarrel = mini.scene("kitchen-quarrel")
    items = scene_items(quarrel)
    speaker = [i for i in items if i.format is Format.yes_no and i.modes == ("dp.speaker_identity_error",)]
    assert [i.slot for i in speaker] == [{"line": k} for k in range(len(quarrel.lines))]
    last = speaker[3]
    assert '"Then why are we doing this?"' in last.question and "Tom" in last.question
    assert "frustrated" in last.question and "shouted" in last.question and "slams a plate" in last.question
    assert [o.id for o in last.options] == ["yes", "no"]
    # the slam is the only scripted action and the only scripted sound
    assert [i.slot for i in items if i.format is Format.yes_no and i.modes == ("mp.action_missing",)] == [{"line": 3}]
    sound = _one(items, format=Format.yes_no, modes=("sd.missing_scripted_sound",))
    assert sound.slot == {"line": 3} and "plate smash" in sound.question
    # turn-taking is asked where the speaker changes, never on the first line
    turns = [i.slot["line"] for i in items if i.format is Format.yes_no and i.modes == ("ip.dialogue_turn_taking_failure",)]
    assert turns == [1, 2, 3]


def test_scene_scoped_modes_get_one_item_per_scene(mini):
    items = scene_items(mini.scene("kitchen-quarrel"))
    item = _one(items, format=Format.yes_no, modes=("sd.missing_ambient_sound",))
    assert item.slot == {} and "fridge hum" in item.question and item.scene == "kitchen-quarrel"
    assert item.level is Level.scene and item.scenes == ("kitchen-quarrel",)
    assert not [i for i in items if "ec.missing_scene_transition" in i.modes and i.format is not Format.mcq_single
                and i.format is not Format.mcq_multi]  # a drama-only mode is not asked of one clip


def test_mcq_options_are_the_sub_dimension_modes_plus_none(mini):
    items = scene_items(mini.scene("park-bench"))
    taxonomy = load_taxonomy()
    for fmt in (Format.mcq_single, Format.mcq_multi):
        chosen = [i for i in items if i.format is fmt]
        assert {i.sub_dimension for i in chosen} == {s.code for s in taxonomy.sub_dimensions}
        for item in chosen:
            modes = [m.id for m in taxonomy.sub_dimension(item.sub_dimension).modes]
            assert [o.id for o in item.options] == modes + [NONE_OPTION]
            assert [o.mode for o in item.options] == modes + [None]
            assert item.modes == tuple(modes)


def test_temporal_and_pairwise_items(mini):
    scene = mini.scene("kitchen-morning")
    items = scene_items(scene)
    bins = plan_timeline(scene).bins()
    temporal = [i for i in items if i.format is Format.temporal]
    assert temporal and all(i.bins == bins and i.bin_s == 2.0 and len(i.modes) == 1 for i in temporal)
    assert all(f"numbered 0 to {bins - 1}" in i.question for i in temporal)
    pairwise = [i for i in items if i.format is Format.pairwise]
    assert all([o.id for o in i.options] == ["A", "B"] for i in pairwise)
    assert {i.modes for i in pairwise} == {i.modes for i in temporal}


def test_drama_items_ask_across_the_chain(mini):
    drama = mini.drama("kitchen-arc")
    chain = [mini.scene(s) for s in drama.scenes]
    items = drama_items(drama, chain)
    assert all(i.level is Level.drama and i.drama == "kitchen-arc" and i.scene is None for i in items)
    assert all(i.scenes == ("kitchen-quarrel", "kitchen-morning") for i in items)
    assert {i.format for i in items} == set(Format)
    character = [i for i in items if i.modes == ("ct.character_continuity_break",) and i.format is Format.yes_no]
    assert [i.slot for i in character] == [{}, {"boundary": 0}]
    assert "Mara and Tom" in character[1].question and '"The burnt dinner"' in character[1].question
    temporal = _one(items, format=Format.temporal, modes=("ct.character_continuity_break",))
    sizes = [plan_timeline(s).bins() for s in chain]
    assert temporal.bins == sum(sizes) and temporal.slot == {"scene_bins": sizes}
    with pytest.raises(ValueError, match="do not match"):
        drama_items(drama, chain[::-1])


@pytest.mark.skipif("default" not in bundled_suites(), reason="the default suite has not landed yet")
def test_default_suite_yields_over_ten_thousand_items_covering_everything():
    items = build_items(load_suite("default"))
    assert len(items) >= 10_000
    assert len({i.id for i in items}) == len(items)
    assert {m for i in items for m in i.modes} == set(load_taxonomy().mode_ids)
    assert {(i.level, i.format) for i in items} == {(lv, f) for lv in Level for f in Format}


# ---------------------------------------------------------------- gold answers


def _truth(occurrences=(), controlled=("dp.speaker_identity_error",), duration=10.0):
    spans = ((0.6, 2.6), (3.0, 5.0), (5.4, 7.0), (7.4, 9.0))
    return ClipTruth(duration_s=duration, line_spans=spans, occurrences=tuple(occurrences),
                     controlled_modes=frozenset(controlled))


def test_yes_no_gold_by_line_and_uncontrolled_modes_stay_unknown(mini):
    items = scene_items(mini.scene("kitchen-quarrel"))
    line2 = _one(items, format=Format.yes_no, modes=("dp.speaker_identity_error",), slot={"line": 2})
    line3 = _one(items, format=Format.yes_no, modes=("dp.speaker_identity_error",), slot={"line": 3})
    swap = Occurrence(mode="dp.speaker_identity_error", start=5.4, end=7.0)
    assert gold_for(line2, _truth([swap])) == Answer.yes()
    assert gold_for(line3, _truth([swap])) == Answer.no()
    placed = Occurrence(mode="dp.speaker_identity_error", start=0.0, end=10.0, line=3)  # explicit line wins
    assert gold_for(line2, _truth([placed])) == Answer.no()
    assert gold_for(line3, _truth([placed])) == Answer.yes()
    assert gold_for(line2, _truth([swap], controlled=())) is None
    faded = Occurrence(mode="dp.speaker_identity_error", start=5.4, end=7.0, severity=0.0)
    assert gold_for(line2, _truth([faded])) == Answer.no()


def test_pairwise_gold_compares_amounts_and_ties_have_none(mini):
    items = scene_items(mini.scene("kitchen-quarrel"))
    item = _one(items, format=Format.pairwise, modes=("sf.frozen_video",), slot={})
    controlled = ("sf.frozen_video",)
    long = _truth([Occurrence(mode="sf.frozen_video", start=1, end=4)], controlled)
    short = _truth([Occurrence(mode="sf.frozen_video", start=1, end=2)], controlled)
    assert gold_for(item, long, other=short) == Answer(choices=("A",))
    assert gold_for(item, short, other=long) == Answer(choices=("B",))
    assert gold_for(item, short, other=short) is None
    assert gold_for(item, long, other=_truth([], ())) is None
    with pytest.raises(ValueError, match="both clips"):
        gold_for(item, long)


def test_mcq_gold_needs_every_option_controlled(mini):
    items = scene_items(mini.scene("kitchen-quarrel"))
    single = _one(items, format=Format.mcq_single, sub_dimension="SF")
    multi = _one(items, format=Format.mcq_multi, sub_dimension="SF")
    sf = tuple(single.modes)
    occ = [Occurrence(mode="sf.audio_dropout", start=1, end=1.5), Occurrence(mode="sf.frozen_video", start=2, end=5)]
    assert gold_for(single, _truth(occ, sf)) == Answer(choices=("sf.frozen_video",))
    assert gold_for(multi, _truth(occ, sf)) == Answer(choices=("sf.audio_dropout", "sf.frozen_video"))
    assert gold_for(single, _truth([], sf)) == Answer(choices=(NONE_OPTION,))
    assert gold_for(multi, _truth([], sf)) == Answer(choices=(NONE_OPTION,))
    tie = [Occurrence(mode="sf.audio_dropout", start=1, end=2), Occurrence(mode="sf.frozen_video", start=3, end=4)]
    assert gold_for(single, _truth(tie, sf)) is None
    assert gold_for(multi, _truth(occ, sf[:-1])) is None


def test_temporal_gold_bins_and_label(mini):
    scene = mini.scene("kitchen-quarrel")
    item = _one(scene_items(scene), format=Format.temporal, modes=("sf.frozen_video",))
    sf = [o.mode for o in item.options if o.mode]
    occ = [Occurrence(mode="sf.frozen_video", start=2.5, end=5.1), Occurrence(mode="sf.frozen_video", start=99, end=100)]
    gold = gold_for(item, _truth(occ, sf))
    assert gold == Answer(bins=(1, 2, item.bins - 1), label="sf.frozen_video")  # late stretch clamps to the last bin
    partly = gold_for(item, _truth(occ, ["sf.frozen_video"]))
    assert partly == Answer(bins=(1, 2, item.bins - 1), label=None)
    assert gold_from_presence(item, {"sf.frozen_video": [(2.5, 5.1, 1.0)]}, duration_s=10) == Answer(
        bins=(1, 2), label="sf.frozen_video")


def test_drama_gold_uses_the_chain(mini):
    drama = mini.drama("kitchen-arc")
    items = drama_items(drama, [mini.scene(s) for s in drama.scenes])
    mode = "ct.character_continuity_break"
    boundary = _one(items, format=Format.yes_no, modes=(mode,), slot={"boundary": 0})
    whole = _one(items, format=Format.yes_no, modes=(mode,), slot={})
    temporal = _one(items, format=Format.temporal, modes=(mode,))
    first, second = temporal.slot["scene_bins"]
    clean = _truth([], [mode])
    broken = _truth([Occurrence(mode=mode, start=0.0, end=1.0)], [mode])
    assert gold_for(boundary, [clean, broken]) == Answer.yes()
    assert gold_for(boundary, [broken, clean]) == Answer.no()
    assert gold_for(whole, [broken, clean]) == Answer.yes()
    assert gold_for(temporal, [clean, broken]).bins == (first,)
    with pytest.raises(ValueError, match="needs 2"):
        gold_for(whole, clean)


def test_clip_truth_from_a_generator_manifest(mini):
    scene = mini.scene("kitchen-quarrel")
    clip = Clip(
        clip_key="k", generator="procedural:flawed", generator_name="procedural", generator_version="1",
        config_hash="c", scene=scene.id, scene_hash=scene.content_hash(), seed=0, duration_s=9.0,
        lines=[LineTiming(index=i, speaker=ln.speaker, start=1.0 + 2 * i, end=2.5 + 2 * i) for i, ln in enumerate(scene.lines)],
        faults=[InjectedFault(fault="speaker_swap", modes=["dp.speaker_identity_error"], start=3.0, end=4.5, line=1)],
        controlled_modes=["dp.speaker_identity_error", "sf.frozen_video"],
    )
    truth = ClipTruth.from_manifest(clip)
    items = scene_items(scene)
    golds = {i.slot["line"]: gold_for(i, truth) for i in items
             if i.format is Format.yes_no and i.modes == ("dp.speaker_identity_error",)}
    assert golds == {0: Answer.no(), 1: Answer.yes(), 2: Answer.no(), 3: Answer.no()}
    frozen = _one(items, format=Format.yes_no, modes=("sf.frozen_video",))
    assert gold_for(frozen, truth) == Answer.no()
    assert gold_for(_one(items, format=Format.yes_no, modes=("sf.lip_sync_offset",)), truth) is None


# ---------------------------------------------------------------- the command


def test_questions_json_prints_the_public_fields():
    result = CliRunner().invoke(app, ["questions", "--suite", "mini", "--json"])
    assert result.exit_code == 0, result.output
    items = json.loads(result.stdout)
    assert len(items) == len(build_items(load_suite("mini")))
    assert set(items[0]) >= {"id", "scene", "drama", "level", "format", "sub_dimension", "modes", "question",
                             "options", "bins"}
    counts = Counter(i["level"] for i in items)
    assert counts["scene"] and counts["drama"]


def test_questions_filters_and_counts():
    runner = CliRunner()
    result = runner.invoke(app, ["questions", "--suite", "mini", "--scene", "park-bench", "--format", "temporal", "--json"])
    assert result.exit_code == 0, result.output
    items = json.loads(result.stdout)
    assert items and {(i["scene"], i["format"]) for i in items} == {("park-bench", "temporal")}
    result = runner.invoke(app, ["questions", "--suite", "mini", "--count"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "49 of 49 failure modes covered" in result.stdout and "mcq_multi" in result.stdout and "drama" in result.stdout


def test_questions_refuses_bad_input():
    runner = CliRunner()
    result = runner.invoke(app, ["questions", "--suite", "mini", "--scene", "nowhere", "--json"])
    assert result.exit_code == 2 and "nowhere" in result.stderr
    result = runner.invoke(app, ["questions", "--suite", "no-such-suite", "--count"])
    assert result.exit_code == 2 and "no-such-suite" in result.stderr


def test_every_mode_has_wording_for_the_levels_it_is_asked_at():
    from taxonomy.qa import DRAMA_MODES, load_wording

    wording = load_wording().modes
    taxonomy = load_taxonomy()
    assert set(wording) == set(taxonomy.mode_ids)
    for mode in taxonomy.modes:
        if mode.scope.value == "line":
            assert "line" in wording[mode.id], mode.id
        elif mode.scope.value != "drama":
            assert "scene" in wording[mode.id], mode.id
    for mode_id in DRAMA_MODES:
        assert "drama" in wording[mode_id], mode_id


def test_ids_are_the_same_in_fresh_processes():
    import os
    import subprocess
    import sys

    def ids(seed: str) -> list[str]:
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-m", "flows.cli", "questions", "--suite", "mini", "--json"],
                             capture_output=True, text=True, env=env, check=True).stdout
        return [i["id"] for i in json.loads(out)]

    assert ids("1") == ids("2") == [i.id for i in build_items(load_suite("mini"))]
