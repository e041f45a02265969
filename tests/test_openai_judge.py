"""The OpenAI-compatible judge against a local chat-completions server (vLLM / SGLang / OpenAI shapes)."""

from __future__ import annotations

import pytest
from fakes.base import Faults
from fakes.judging import judge_fixtures
from fakes.media import synthetic_clip
from fakes.model import Oracle
from fakes.openai_server import FakeOpenAI

from diagnosers import build_judge
from diagnosers.base import VerdictStatus
from diagnosers.media import ClipMedia
from diagnosers.omni.judge import OmniJudge
from diagnosers.rationale import grade_rationales
from diagnosers.runner import diagnose_clip
from scenes.loader import load_suite
from storage import Store
from taxonomy.items import Answer, Format
from taxonomy.qa import scene_items

KEY = "sk-local-1234abcd"
FAST = "rps=200&burst=20&backoff_s=0.01&backoff_max_s=0.05&timeout_s=0.8&batch_size=8"


scene, clips, items, api_key = judge_fixtures(key_env="OPENAI_API_KEY", key=KEY, tones=(500, 550), per_format=5)


def judge(server: FakeOpenAI, store: Store, extra: str = "") -> OmniJudge:
    return build_judge(f"openai:qwen_omni?base_url={server.url}/v1&{FAST}{'&' + extra if extra else ''}", store=store)


def test_video_url_with_audio_in_video_for_qwen_omni(clips, items, tmp_store):
    with FakeOpenAI(api_key=KEY) as server:
        verdicts = judge(server, tmp_store).answer(clips[0], items)
    assert [v.item_id for v in verdicts] == [i.id for i in items]
    assert all(v.status is VerdictStatus.answered and v.tokens_in > 0 for v in verdicts)
    assert server.part_types["video_url"] >= 1 and not server.part_types["input_audio"]
    assert all(e["mm_processor_kwargs"] == {"use_audio_in_video": True} for e in server.extra_seen)
    assert set(server.media_seen) == {(True, True)}
    assert server.response_formats == {"json_schema": len(server.extra_seen)}


@pytest.mark.parametrize("extra, seen, parts", [
    ("video=frames&audio=input_audio", (True, True), {"image_url", "input_audio"}),
    ("video=frames&audio=audio_url&max_frames=4", (True, True), {"image_url", "audio_url"}),
    ("video=video_url&audio=in_video&modality=no_audio", (True, False), {"video_url"}),
    ("video=video_url&audio=in_video&modality=no_video", (False, True), {"input_audio"}),
    ("modality=text_only", (False, False), set()),
])
def test_media_modes_and_modalities(clips, items, tmp_store, extra, seen, parts):
    with FakeOpenAI(api_key=KEY) as server:
        verdicts = judge(server, tmp_store, extra).answer(clips[1], items[:4])
    assert all(v.final for v in verdicts)
    assert set(server.media_seen) == {seen}
    assert {k for k, n in server.part_types.items() if n} == parts


def test_falls_back_when_structured_output_is_rejected(clips, items, tmp_store):
    with FakeOpenAI(api_key=KEY, supports_json_schema=False, supports_json_object=False) as server:
        j = judge(server, tmp_store, "concurrency=1")
        first = j.answer(clips[0], items[:3])
        second = j.answer(clips[0], items[3:6])
    assert all(v.final for v in first + second)
    assert {v.evidence["parse"] for v in first + second} == {"fence"}  # a JSON block in prose, read strictly
    assert server.response_formats["json_schema"] == 1 and server.response_formats["json_object"] == 1  # remembered


def test_insufficient_quota_fails_fast(clips, items, tmp_store):
    with FakeOpenAI(api_key=KEY, faults=Faults(script=["quota"])) as server:
        j = judge(server, tmp_store, "concurrency=1&batch_size=50")
        verdicts = j.answer(clips[0], items)
        later = j.answer(clips[1], items[:2])
    assert server.calls["POST chat/completions"] == 1
    assert all(v.status is VerdictStatus.error and "insufficient_quota" in v.error for v in verdicts + later)


def test_refusal_message_is_unparsed_with_reason(clips, items, tmp_store):
    with FakeOpenAI(api_key=KEY, faults=Faults(script=["refusal", "refusal"])) as server:
        verdicts = judge(server, tmp_store, "concurrency=1&batch_size=50").answer(clips[0], items[:3])
    assert all(v.status is VerdictStatus.unparsed and "can't help" in v.error for v in verdicts)


def test_thirty_percent_faults_then_rerun_finishes_only_the_rest(clips, items, tmp_store):
    faults = Faults(rate=0.3, seed=3, kinds=("429", "500", "timeout", "garbage", "truncated", "refusal"), retry_after_s=0.02, timeout_sleep_s=1.0)
    with FakeOpenAI(api_key=KEY, faults=faults) as server:
        j = judge(server, tmp_store, "max_attempts=2&reply_retries=0&batch_size=4")
        assert j.config.model_dump() == judge(server, tmp_store, "batch_size=4").config.model_dump()
        first = [diagnose_clip(j, c, items, tmp_store) for c in clips]
        assert all([v.item_id for v in vs] == [i.id for i in items] for vs in first)
        redo = {v.item_id for vs in first for v in vs if not v.final}
        assert redo and all(v.error for vs in first for v in vs if not v.final)
        before = dict(server.calls_per_item)
        server.faults = Faults()
        second = [diagnose_clip(judge(server, tmp_store, "batch_size=4"), c, items, tmp_store) for c in clips]
        assert all(v.final for vs in second for v in vs)
        assert {i for i, n in server.calls_per_item.items() if n > before.get(i, 0)} == redo


def test_oracle_accuracy_follows_modality(clips, items, tmp_store):
    """The fake answers gold more often the more it perceives: the ablation has something to show."""
    yes_no = [i for i in scene_items(clips[0].scene) if i.format is Format.yes_no][:40]
    oracle = Oracle(answers={i.id: {"answer": ["yes"]} for i in yes_no})
    scores = {}
    for modality in ("full", "text_only"):
        with FakeOpenAI(api_key=KEY, oracle=oracle) as server:
            verdicts = judge(server, tmp_store, f"modality={modality}&batch_size=40").answer(clips[0], yes_no)
        scores[modality] = sum(v.answer == Answer.yes() for v in verdicts) / len(verdicts)
    assert scores["full"] > scores["text_only"]


def test_rationale_grader_through_the_openai_adapter(clips, items, tmp_store):
    with FakeOpenAI(api_key=KEY) as server:
        verdicts = judge(server, tmp_store).answer(clips[0], items[:4])
        ratings = grade_rationales(f"openai?base_url={server.url}/v1&{FAST}", items[:4], verdicts, store=tmp_store)
    assert [r.item_id for r in ratings] == [v.item_id for v in verdicts]
    assert all(r.status == "answered" and 1 <= r.rating <= 5 for r in ratings)


def test_drama_items_send_every_scene_clip_in_story_order(tmp_path, tmp_store):
    from diagnosers.media import MediaChain
    from taxonomy.qa import drama_items

    suite = load_suite("mini")
    drama = suite.dramas[0]
    scenes = [suite.scene(s) for s in drama.scenes]
    chain = MediaChain(scenes=[ClipMedia.open(synthetic_clip(str(tmp_path / f"d{k}.mp4"), tone_hz=200 + 90 * k), s)
                               for k, s in enumerate(scenes)], drama=drama)
    items = drama_items(drama, scenes)[:5]
    with FakeOpenAI(api_key=KEY) as server:
        verdicts = judge(server, tmp_store, "video=frames&audio=input_audio&max_frames=3").answer(chain, items)
    assert all(v.final for v in verdicts)
    assert server.part_types["input_audio"] == len(scenes) * server.calls["POST chat/completions"]
