"""The verdict cache in diagnosers.runner: reuse answered verdicts, retry the rest, never lose an item."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Sequence

import pytest
from pydantic import BaseModel

from diagnosers.base import Verdict, VerdictStatus
from diagnosers.runner import batch_key_for, cached_verdicts, diagnose_clip, media_sha, run_clip
from storage import ComponentSpec, Store
from taxonomy.items import Answer, Format, Level, Option, QAItem


class ScriptConfig(BaseModel):
    temperature: float = 0.0


class ScriptedJudge:
    """A judge whose status per item comes from a script; records what it was asked."""

    def __init__(self, script: dict[str, str] | None = None, *, version: str = "1", temperature: float = 0.0):
        self.name = "scripted"
        self.version = version
        self.config = ScriptConfig(temperature=temperature)
        self.spec = ComponentSpec.parse("scripted")
        self.script = dict(script or {})
        self.calls: list[list[str]] = []

    def answer(self, media: Any, items: Sequence[QAItem]) -> list[Verdict]:
        self.calls.append([i.id for i in items])
        out = []
        for item in items:
            status = VerdictStatus(self.script.get(item.id, "answered"))
            answer = Answer.yes() if status is VerdictStatus.answered else None
            out.append(Verdict(item_id=item.id, judge=self.name, judge_version=self.version, status=status,
                               answer=answer, raw="???" if status is VerdictStatus.unparsed else None))
        return out


@dataclass
class FakeMedia:
    sha256: str


@dataclass
class Pair:
    a: FakeMedia
    b: FakeMedia


def item(i: int, template_version: str = "1") -> QAItem:
    return QAItem(
        id=f"s1/yes_no/dp.speaker_identity_error/line{i}", template="yes_no", template_version=template_version,
        scene="s1", scenes=("s1",), level=Level.scene, format=Format.yes_no, sub_dimension="dp",
        modes=("dp.speaker_identity_error",), question=f"Is line {i} spoken by the wrong character?",
        options=(Option(id="yes", text="yes"), Option(id="no", text="no")), slot={"line": i},
    )


ITEMS = [item(i) for i in range(5)]
MEDIA = FakeMedia("ab" * 32)


def test_second_run_asks_nothing_and_returns_same_verdicts(tmp_store: Store):
    judge = ScriptedJudge()
    first = diagnose_clip(judge, MEDIA, ITEMS, tmp_store)
    second = diagnose_clip(judge, MEDIA, ITEMS, tmp_store)
    assert [v.item_id for v in first] == [i.id for i in ITEMS]
    assert first == second
    assert judge.calls == [[i.id for i in ITEMS]]


def test_only_non_answered_items_are_asked_again(tmp_store: Store):
    judge = ScriptedJudge({ITEMS[1].id: "unparsed", ITEMS[2].id: "error", ITEMS[3].id: "abstained"})
    first = run_clip(judge, MEDIA, ITEMS, tmp_store)
    assert first.counts == {"answered": 2, "unparsed": 1, "error": 1, "abstained": 1}
    judge.script = {}
    second = run_clip(judge, MEDIA, ITEMS, tmp_store)
    assert judge.calls[-1] == [ITEMS[1].id, ITEMS[2].id, ITEMS[3].id]
    assert (second.cached, second.asked) == (2, 3)
    assert [v.status for v in second.verdicts] == [VerdictStatus.answered] * 5
    assert [v.item_id for v in second.verdicts] == [i.id for i in ITEMS]
    diagnose_clip(judge, MEDIA, ITEMS, tmp_store)
    assert len(judge.calls) == 2


def test_unparsed_stays_unparsed_with_raw_kept(tmp_store: Store):
    judge = ScriptedJudge({ITEMS[0].id: "unparsed"})
    verdicts = diagnose_clip(judge, MEDIA, ITEMS[:1], tmp_store)
    assert verdicts[0].status is VerdictStatus.unparsed and verdicts[0].answer is None
    stored = cached_verdicts(judge, MEDIA.sha256, ITEMS[:1], tmp_store)
    assert stored[0].status is VerdictStatus.unparsed and stored[0].raw == "???"


def test_force_asks_everything(tmp_store: Store):
    judge = ScriptedJudge()
    diagnose_clip(judge, MEDIA, ITEMS, tmp_store)
    diagnose_clip(judge, MEDIA, ITEMS, tmp_store, force=True)
    assert len(judge.calls) == 2 and judge.calls[1] == [i.id for i in ITEMS]


def test_a_judge_that_raises_gives_error_verdicts_for_every_item(tmp_store: Store):
    class Broken(ScriptedJudge):
        def answer(self, media, items):
            self.calls.append([i.id for i in items])
            raise ConnectionError("server closed the connection")

    broken = Broken()
    verdicts = diagnose_clip(broken, MEDIA, ITEMS, tmp_store)
    assert [v.status for v in verdicts] == [VerdictStatus.error] * 5
    assert "ConnectionError" in verdicts[0].error
    healthy = ScriptedJudge()  # same identity: the errors are not final, so all are asked
    assert all(v.final for v in diagnose_clip(healthy, MEDIA, ITEMS, tmp_store))
    assert healthy.calls == [[i.id for i in ITEMS]]


def test_missing_and_reordered_replies_are_matched_by_item_id(tmp_store: Store):
    class Sloppy(ScriptedJudge):
        def answer(self, media, items):
            out = super().answer(media, items)
            return list(reversed(out))[:-1]  # reversed and the first item's verdict dropped

    verdicts = diagnose_clip(Sloppy(), MEDIA, ITEMS, tmp_store)
    assert [v.item_id for v in verdicts] == [i.id for i in ITEMS]
    assert verdicts[0].status is VerdictStatus.error
    assert all(v.status is VerdictStatus.answered for v in verdicts[1:])


def test_identity_template_version_and_media_separate_the_cache(tmp_store: Store):
    judge = ScriptedJudge()
    diagnose_clip(judge, MEDIA, ITEMS, tmp_store)
    for other, items, media in [
        (ScriptedJudge(version="2"), ITEMS, MEDIA),
        (ScriptedJudge(temperature=0.5), ITEMS, MEDIA),
        (ScriptedJudge(), [item(i, template_version="2") for i in range(5)], MEDIA),
        (ScriptedJudge(), ITEMS, FakeMedia("cd" * 32)),
    ]:
        diagnose_clip(other, media, items, tmp_store)
        assert len(other.calls) == 1


def test_partial_cache_keeps_request_order(tmp_store: Store):
    judge = ScriptedJudge()
    diagnose_clip(judge, MEDIA, ITEMS[::2], tmp_store)
    verdicts = diagnose_clip(judge, MEDIA, ITEMS, tmp_store)
    assert judge.calls[-1] == [ITEMS[1].id, ITEMS[3].id]
    assert [v.item_id for v in verdicts] == [i.id for i in ITEMS]
    # both requests live in one batch file per (judge identity, clip)
    assert len(tmp_store.list("verdicts")) == 1


def test_unreadable_batch_is_redone(tmp_store: Store):
    judge = ScriptedJudge()
    diagnose_clip(judge, MEDIA, ITEMS, tmp_store)
    key = batch_key_for(judge, MEDIA.sha256)
    tmp_store.put_bytes(key, b"{not json")
    verdicts = diagnose_clip(judge, MEDIA, ITEMS, tmp_store)
    assert len(judge.calls) == 2 and all(v.final for v in verdicts)
    assert json.loads(tmp_store.get_bytes(key))["media_sha256"] == MEDIA.sha256


def test_a_stale_retry_never_replaces_an_answer_written_meanwhile(tmp_store: Store):
    class Racing(ScriptedJudge):
        """While this judge errors, another run answers the same item and writes the batch."""

        def answer(self, media, items):
            diagnose_clip(ScriptedJudge(), media, items, tmp_store)
            return [Verdict(item_id=i.id, judge=self.name, judge_version=self.version, status=VerdictStatus.error,
                            error="timeout") for i in items]

    diagnose_clip(Racing(), MEDIA, ITEMS[:2], tmp_store)
    stored = cached_verdicts(ScriptedJudge(), MEDIA.sha256, ITEMS[:2], tmp_store)
    assert all(v.final for v in stored)


def test_pair_and_duplicate_handling(tmp_store: Store):
    a, b = FakeMedia("aa" * 32), FakeMedia("bb" * 32)
    assert media_sha(Pair(a, b)) != media_sha(Pair(b, a))
    with pytest.raises(TypeError, match="sha256"):
        media_sha(object())
    with pytest.raises(ValueError, match="duplicate item ids"):
        diagnose_clip(ScriptedJudge(), MEDIA, [ITEMS[0], ITEMS[0]], tmp_store)


def test_readers_need_only_the_judge_identity(tmp_store: Store):
    from diagnosers.runner import judge_identity

    judge = ScriptedJudge()
    diagnose_clip(judge, MEDIA, ITEMS, tmp_store)
    identity = json.loads(json.dumps(judge_identity(judge)))  # as it comes back from a worker process
    assert all(v is not None and v.final for v in cached_verdicts(identity, MEDIA.sha256, ITEMS, tmp_store))


def test_concurrent_writers_to_one_batch_lose_nothing(tmp_store: Store):
    from concurrent.futures import ThreadPoolExecutor

    many = [item(i) for i in range(40)]
    chunks = [many[k::8] for k in range(8)]  # eight disjoint item sets on one clip, written at once
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda chunk: diagnose_clip(ScriptedJudge(), MEDIA, chunk, tmp_store), chunks))
    judge = ScriptedJudge()
    assert all(v is not None and v.final for v in cached_verdicts(judge, MEDIA.sha256, many, tmp_store))
    diagnose_clip(judge, MEDIA, many, tmp_store)
    assert judge.calls == []


def test_items_a_judge_does_not_cover_abstain_without_asking_or_rewriting(tmp_store: Store):
    class Partial(ScriptedJudge):
        def covers(self, item: QAItem) -> bool:
            return item.slot["line"] % 2 == 0

    judge = Partial()
    first = run_clip(judge, MEDIA, ITEMS, tmp_store)
    assert judge.calls == [[ITEMS[0].id, ITEMS[2].id, ITEMS[4].id]]
    assert [v.status.value for v in first.verdicts] == ["answered", "abstained"] * 2 + ["answered"]
    key = batch_key_for(judge, MEDIA.sha256)
    mtime = tmp_store.local_path(key).stat().st_mtime_ns
    again = run_clip(judge, MEDIA, ITEMS, tmp_store)  # abstentions are retried: cheaply, and unchanged
    assert len(judge.calls) == 1 and (again.asked, again.cached) == (0, 3)
    assert tmp_store.local_path(key).stat().st_mtime_ns == mtime


def test_a_deterministic_judge_keeps_its_abstentions_until_forced(tmp_store: Store):
    judge = ScriptedJudge({ITEMS[1].id: "abstained", ITEMS[2].id: "unparsed"})
    judge.deterministic = True
    diagnose_clip(judge, MEDIA, ITEMS, tmp_store)
    again = run_clip(judge, MEDIA, ITEMS, tmp_store)
    assert judge.calls[-1] == [ITEMS[2].id]  # unparsed is retried; the abstention is not
    assert again.verdicts[1].status is VerdictStatus.abstained and (again.asked, again.cached) == (1, 4)
    diagnose_clip(judge, MEDIA, ITEMS, tmp_store, force=True)
    assert judge.calls[-1] == [i.id for i in ITEMS]
