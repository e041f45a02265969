"""The probe judge on real rendered clips: clean vs injected faults, every format, pairs and chains.

Three short clips of the bundled `mini` suite are rendered once per session (procedural
renderer, espeak-ng voices); the judge sees only the MP4 and the scene script.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from diagnosers import build_judge
from diagnosers.base import VerdictStatus
from diagnosers.media import ClipMedia, MediaChain, MediaPair
from diagnosers.probes import measure_all
from scenes import load_suite
from taxonomy.items import Format
from taxonomy.qa import drama_items, scene_items

SCENE = "kitchen-quarrel"
EDGE_SCENE = "kitchen-morning"


@pytest.fixture(scope="session")
def rendered(tmp_path_factory) -> dict[str, tuple[Path, object]]:
    from generators import build_generator

    out = {}
    for name, spec in {
        "clean": "procedural:clean",
        "frozen": "procedural?faults=frozen_picture",
        "lipsync": "procedural?faults=lip_sync_offset",
        "drift": "procedural?faults=mood_drift",
        "jumpcut": "procedural?faults=jump_cut",
        "drowned": "procedural?faults=background_drowning",
        "robotic": "procedural?faults=robotic_movement",
        "wandering": "procedural?faults=unmotivated_camera",
        "focus": "procedural?faults=focus_hunt",
        "resized": "procedural?faults=wrong_shot_size",
        # on EDGE_SCENE: SCENE's singles are a close-up and a push-in, which the fault leaves alone
        "edge": "procedural?faults=subject_at_edge",
        "clean_edge": "procedural:clean",
    }.items():
        work = tmp_path_factory.mktemp(name)
        r = build_generator(spec).render(load_suite("mini").scene(EDGE_SCENE if "edge" in name else SCENE), 3, work)
        out[name] = (r.video_path, r.manifest)
    return out


@pytest.fixture(scope="session")
def judge():
    return build_judge("probes")


def _media(judge, path, scene_id: str = SCENE) -> ClipMedia:
    return ClipMedia.open(path, load_suite("mini").scene(scene_id), **judge.media_options)


def _by_mode(items, verdicts, fmt=Format.yes_no):
    return {i.modes[0]: v for i, v in zip(items, verdicts) if i.format is fmt and not i.slot}


def test_every_format_gets_an_answer_or_an_abstention(rendered, judge):
    scene = load_suite("mini").scene(SCENE)
    items = [i for i in scene_items(scene) if i.format is not Format.pairwise]
    verdicts = judge.answer(_media(judge, rendered["clean"][0]), items)
    assert [v.item_id for v in verdicts] == [i.id for i in items]
    assert {v.status for v in verdicts} <= {VerdictStatus.answered, VerdictStatus.abstained}
    answered_formats = {i.format for i, v in zip(items, verdicts) if v.status is VerdictStatus.answered}
    assert {Format.yes_no, Format.temporal, Format.mcq_multi, Format.mcq_single} <= answered_formats
    for i, v in zip(items, verdicts):
        if i.format is Format.mcq_single:  # answered only where every option is a measured mode (e.g. SD)
            all_measured = all(o.mode in judge.measured for o in i.options if o.mode)
            if v.status is VerdictStatus.answered:
                assert all_measured, i.sub_dimension
            else:  # an unmeasured option, or a measured one with nothing to read on this clip (no listener's face)
                assert v.evidence["reason"] == "single choice needs every option measured", i.sub_dimension
                assert not all_measured or all(m in judge.measured for m in v.evidence["unmeasured"])
        if v.status is VerdictStatus.answered and i.format is Format.temporal:
            assert all(0 <= b < i.bins for b in v.answer.bins)
        if v.status is VerdictStatus.abstained:
            assert v.answer is None and v.evidence.get("reason")


def test_a_mode_left_unmeasured_abstains_while_its_probe_siblings_answer(rendered, tmp_path):
    """A probe reports all its modes; one without a fitted threshold must abstain, never crash its siblings."""
    import json

    from diagnosers.probes import THRESHOLDS

    data = json.loads(Path(THRESHOLDS).read_text(encoding="utf-8"))
    data["modes"].pop("mc.color_emotion_conflict")  # the grading probe still reports it
    path = tmp_path / "thresholds.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    partial = build_judge(f"probes?thresholds={path}")
    scene = load_suite("mini").scene(SCENE)
    items = [i for i in scene_items(scene) if i.format is not Format.pairwise and i.sub_dimension == "MC"]
    verdicts = partial.answer(_media(partial, rendered["drift"][0]), items)
    assert all(v.status is not VerdictStatus.error for v in verdicts), [v.error for v in verdicts if v.error]
    by_mode = _by_mode(items, verdicts)
    assert by_mode["mc.color_emotion_conflict"].status is VerdictStatus.abstained
    assert by_mode["mc.visual_mood_drift"].status is VerdictStatus.answered


def test_covers_predicts_every_abstention_that_does_not_depend_on_the_clip(rendered, judge):
    """The verdict cache skips uncovered items without decoding; the judge must abstain on exactly those."""
    scene = load_suite("mini").scene(SCENE)
    items = [i for i in scene_items(scene) if i.format is not Format.pairwise]
    verdicts = judge.answer(_media(judge, rendered["clean"][0]), items)
    assert judge.deterministic is True
    for i, v in zip(items, verdicts):
        if not judge.covers(i):
            assert v.status is VerdictStatus.abstained, (i.format, i.modes)
    assert any(judge.covers(i) for i in items) and not all(judge.covers(i) for i in items)


def test_voice_modes_abstain_where_the_background_drowns_the_dialogue(rendered, judge):
    """A buried voice gives guesses, not measurements: those items abstain with the reason; the rest answer."""
    from diagnosers.probe_judge import HEARD_MODES

    scene = load_suite("mini").scene(SCENE)
    items = [i for i in scene_items(scene) if i.format is Format.yes_no]
    verdicts = judge.answer(_media(judge, rendered["drowned"][0]), items)
    heard = [(i, v) for i, v in zip(items, verdicts) if i.modes[0] in HEARD_MODES and judge.covers(i)]
    by_mode = _by_mode(items, verdicts)
    assert by_mode["sd.overpowering_background_audio"].answer.is_yes
    assert by_mode["mc.visual_mood_drift"].status is VerdictStatus.answered  # the picture is still measured
    assert heard and all(v.status is VerdictStatus.abstained and "overpowers" in v.evidence["reason"] for _, v in heard)
    # on the clean clip the same items are answered, and the gate can be switched off
    clean = judge.answer(_media(judge, rendered["clean"][0]), [i for i, _ in heard])
    assert any(v.status is VerdictStatus.answered for v in clean)
    ungated = build_judge("probes?abstain_when_drowned=false")
    assert any(v.status is VerdictStatus.answered
               for v in ungated.answer(_media(ungated, rendered["drowned"][0]), [i for i, _ in heard]))


def test_set_changes_abstain_where_the_grade_drifts(rendered, judge):
    """A drifting grade hides a set change: the judge answers the drift and abstains on set changes, with the reason."""
    from diagnosers.probe_judge import GRADE_DRIFT, SET_CHANGES

    scene = load_suite("mini").scene(SCENE)
    items = [i for i in scene_items(scene) if i.format is Format.yes_no and i.modes[0] in (GRADE_DRIFT, SET_CHANGES)]
    drifting = _by_mode(items, judge.answer(_media(judge, rendered["drift"][0]), items))
    assert drifting[GRADE_DRIFT].answer.is_yes
    assert drifting[SET_CHANGES].status is VerdictStatus.abstained
    assert "drifts" in drifting[SET_CHANGES].evidence["reason"]
    clean = _by_mode(items, judge.answer(_media(judge, rendered["clean"][0]), items))
    assert clean[SET_CHANGES].status is VerdictStatus.answered
    ungated = build_judge("probes?abstain_when_grade_drifts=false")
    assert _by_mode(items, ungated.answer(_media(ungated, rendered["drift"][0]), items))[SET_CHANGES].status \
        is VerdictStatus.answered


def test_frozen_picture_is_measured_and_localised(rendered, judge):
    clean = measure_all(_media(judge, rendered["clean"][0]), {"sf.frozen_video"})["sf.frozen_video"]
    frozen = measure_all(_media(judge, rendered["frozen"][0]), {"sf.frozen_video"})["sf.frozen_video"]
    (fault,) = [f for f in rendered["frozen"][1].faults if f.fault == "frozen_picture"]
    assert frozen.score >= clean.score + 0.5, (frozen.score, clean.score)
    start, end, _ = frozen.windows[0]
    assert start < fault.end and end > fault.start  # the longest still run lies in the injected span
    # the yes/no answer follows the fitted threshold: whatever it is, both clips are judged consistently
    scene = load_suite("mini").scene(SCENE)
    (item,) = [i for i in scene_items(scene) if i.modes == ("sf.frozen_video",) and i.format is Format.yes_no]
    threshold = judge.thresholds["sf.frozen_video"]["threshold"]
    (verdict,) = judge.answer(_media(judge, rendered["frozen"][0]), [item])
    assert verdict.answer.is_yes == (frozen.score > threshold)


def test_lip_sync_lag_follows_the_injected_offset(rendered, judge):
    clean = measure_all(_media(judge, rendered["clean"][0]), {"sf.lip_sync_offset"})["sf.lip_sync_offset"]
    shifted = measure_all(_media(judge, rendered["lipsync"][0]), {"sf.lip_sync_offset"})["sf.lip_sync_offset"]
    (fault,) = [f for f in rendered["lipsync"][1].faults if f.fault == "lip_sync_offset"]
    offset = fault.params["offset_s"]
    assert abs(clean.detail["lag_s"]) < 0.1, clean.detail  # no bias on a clip in sync
    assert abs(shifted.detail["lag_s"] - offset) < 0.12, (shifted.detail, offset)
    assert shifted.score > clean.score


def test_mood_drift_is_measured_inside_shots_and_spares_the_conflict_modes(rendered, judge):
    modes = {"mc.visual_mood_drift", "mc.lighting_emotion_conflict", "mc.color_emotion_conflict"}
    clean = measure_all(_media(judge, rendered["clean"][0]), modes)
    drift = measure_all(_media(judge, rendered["drift"][0]), modes)
    assert drift["mc.visual_mood_drift"].score > clean["mc.visual_mood_drift"].score + 2.0
    # the grade is judged on the opening third, before the drift starts
    for mode in ("mc.lighting_emotion_conflict", "mc.color_emotion_conflict"):
        assert abs(drift[mode].score - clean[mode].score) < 0.1, mode


def test_jump_cut_is_found_where_it_was_injected(rendered, judge):
    clean = measure_all(_media(judge, rendered["clean"][0]), {"ig.30_degree_rule_violation"})["ig.30_degree_rule_violation"]
    jump = measure_all(_media(judge, rendered["jumpcut"][0]), {"ig.30_degree_rule_violation"})["ig.30_degree_rule_violation"]
    (fault,) = [f for f in rendered["jumpcut"][1].faults if f.fault == "jump_cut"]
    assert jump.score > clean.score + 0.3, (jump.score, clean.score)
    start, end, _ = max(jump.windows, key=lambda w: w[2])
    assert start <= fault.start <= end


@pytest.mark.parametrize(("mode", "clip", "fault_name", "clean_under", "fault_over"), [
    # minus the stillest figure's sway in pixels: a breathing figure's is ~0.5-3, the machine's ~0.1 at most
    ("mp.robotic_movement", "robotic", "robotic_movement", -0.4, -0.2),
    # pixels of a 640-wide frame: the renderer's drifts, shakes and creeps move the corners by 25-70
    ("ic.camera_motivation_issues", "wandering", "unmotivated_camera", 15.0, 25.0),
    # the share of a shot's fine detail lost at its softest: talking and gesturing ~0.1, a focus hunt 0.45+
    ("ic.focus_control_failure", "focus", "focus_hunt", 0.25, 0.4),
    # |log| of the front face's size over the scripted size's usual one: as scripted ~0.1, a wide framed medium-close 1.1
    ("ig.shot_progression_issues", "resized", "wrong_shot_size", 0.3, 0.6),
    # a single's face from the frame's centre (frame widths): on its side ~0.1, pushed to the edge 0.25+
    ("ic.attention_guidance_failure", "edge", "subject_at_edge", 0.15, 0.2),
])
def test_a_shot_fault_reads_over_the_clean_clip_and_in_its_shot(rendered, judge, mode, clip, fault_name, clean_under, fault_over):
    scene_id = rendered[clip][1].scene
    clean = measure_all(_media(judge, rendered["clean_edge" if scene_id == EDGE_SCENE else "clean"][0], scene_id), {mode})[mode]
    faulty = measure_all(_media(judge, rendered[clip][0], scene_id), {mode})[mode]
    (fault,) = [f for f in rendered[clip][1].faults if f.fault == fault_name]
    assert clean.score < clean_under and faulty.score > fault_over, (clean.score, faulty.score, fault.params)
    start, end, _ = max(faulty.windows, key=lambda w: w[2])
    assert start < fault.end and end > fault.start  # the strongest reading is in the injected shot


def test_a_focus_that_hunts_is_answered_present_and_a_clean_clip_absent(rendered, judge):
    mode = "ic.focus_control_failure"
    (item,) = [i for i in scene_items(load_suite("mini").scene(SCENE))
               if i.modes == (mode,) and i.format is Format.yes_no and not i.slot]
    verdicts = [judge.answer(_media(judge, rendered[name][0]), [item])[0] for name in ("clean", "focus")]
    assert [v.answer.is_yes for v in verdicts] == [False, True], [v.evidence for v in verdicts]


def test_lip_sync_is_not_measured_without_speech(judge):
    import numpy as np

    scene = load_suite("mini").scene(SCENE)
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, (40, 90, 160, 3), dtype=np.uint8)
    media = ClipMedia.from_arrays(frames, np.zeros(16000 * 4, np.float32), scene, fps=10.0)
    assert measure_all(media, {"sf.lip_sync_offset"})["sf.lip_sync_offset"].score is None
    (item,) = [i for i in scene_items(scene) if i.modes == ("sf.lip_sync_offset",) and i.format is Format.yes_no]
    (verdict,) = judge.answer(media, [item])
    assert verdict.status is VerdictStatus.abstained


def test_pairwise_compares_the_two_clips(rendered, judge):
    scene = load_suite("mini").scene(SCENE)
    (item,) = [i for i in scene_items(scene) if i.format is Format.pairwise and i.modes == ("sf.frozen_video",)]
    a, b = _media(judge, rendered["clean"][0]), _media(judge, rendered["frozen"][0])
    assert judge.answer(MediaPair(a, b), [item])[0].answer.choices == ("B",)  # B is the frozen one
    assert judge.answer(MediaPair(b, a), [item])[0].answer.choices == ("A",)


def test_drama_items_through_a_chain(rendered, judge, tmp_path):
    from generators import build_generator

    suite = load_suite("mini")
    drama = suite.dramas[0]
    scenes = [suite.scene(s) for s in drama.scenes]
    clips = []
    for scene in scenes:
        if scene.id == SCENE:
            clips.append(ClipMedia.open(rendered["clean"][0], scene, **judge.media_options))
        else:
            r = build_generator("procedural:clean").render(scene, 3, tmp_path / scene.id)
            clips.append(ClipMedia.open(r.video_path, scene, **judge.media_options))
    items = drama_items(drama, scenes)
    verdicts = judge.answer(MediaChain(scenes=clips), items)
    assert len(verdicts) == len(items)
    assert {v.status for v in verdicts} <= {VerdictStatus.answered, VerdictStatus.abstained}
    assert any(v.status is VerdictStatus.answered for v in verdicts)
