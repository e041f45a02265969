"""The verdict cache: ask a judge about one clip's items once, keep `answered` verdicts for good (DESIGN §3).

One batch per (judge identity, clip) lives under `storage.verdict_batch_key`. Each verdict in it is
keyed by hash(judge name, version, config, media sha256, item id, template version), so a changed
question template or judge config never reuses an old answer. Only `answered` verdicts are final;
`abstained`, `unparsed` and `error` verdicts are stored for inspection but asked again next run.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

from diagnosers.base import Judge, Verdict, VerdictStatus
from storage import Store, content_key, verdict_batch_key
from taxonomy.items import QAItem

log = logging.getLogger(__name__)

BATCH_FORMAT = 1


def judge_identity(judge: Judge) -> dict[str, Any]:
    """What makes two judges give the same answers: name, version and full config."""
    config = judge.config.model_dump(mode="json") if getattr(judge, "config", None) is not None else {}
    return {"name": judge.name, "version": str(judge.version), "config": config}


def media_sha(media: Any) -> str:
    """Content hash of a clip, a pair of clips (ordered) or a chain of clips (a drama)."""
    sha = getattr(media, "sha256", None)
    if isinstance(sha, str) and sha:
        return sha
    if hasattr(media, "a") and hasattr(media, "b"):  # MediaPair: order matters (A/B answers)
        return content_key("pair", media_sha(media.a), media_sha(media.b), length=64)
    parts = getattr(media, "scenes", None) or getattr(media, "clips", None)
    if parts:  # MediaChain: the drama's clips in order
        return content_key("chain", [media_sha(p) for p in parts], length=64)
    raise TypeError(f"cannot tell the content hash of media {type(media).__name__}: it has no sha256")


def _identity(judge: Judge | dict[str, Any]) -> dict[str, Any]:
    return judge if isinstance(judge, dict) else judge_identity(judge)


def batch_key_for(judge: Judge | dict[str, Any], sha: str) -> str:
    """Store key of the (judge identity, clip) batch; `judge` is a judge or its `judge_identity`."""
    identity = _identity(judge)
    return verdict_batch_key(identity["name"], sha, content_key(identity, sha))


def verdict_key(judge: Judge | dict[str, Any], sha: str, item: QAItem) -> str:
    """hash(judge name, version, config, media sha256, item id, template version)."""
    return content_key(_identity(judge), sha, item.id, item.template_version)


@dataclass
class ClipDiagnosis:
    """What one `run_clip` did: the verdicts (one per item, in order) and how many came from the cache."""

    verdicts: list[Verdict]
    batch_key: str
    cached: int = 0
    asked: int = 0
    elapsed_s: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)


def load_batch(store: Store, key: str) -> dict[str, Verdict]:
    """The stored verdicts of a batch by verdict key; a missing or unreadable batch is empty (redone)."""
    if not store.exists(key):
        return {}
    try:
        data = json.loads(store.get_bytes(key))
        return {k: Verdict.model_validate(v) for k, v in data.get("verdicts", {}).items()}
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        # writes are atomic, so this is a foreign or old-format file: redo rather than trust it
        log.warning("verdict batch %s unreadable (%s): asking again", key, exc)
        return {}


def _error_verdict(judge: Judge, item: QAItem, message: str) -> Verdict:
    return Verdict(item_id=item.id, judge=judge.name, judge_version=str(judge.version), status=VerdictStatus.error, error=message)


def _ask(judge: Judge, media: Any, items: Sequence[QAItem]) -> list[Verdict]:
    """Ask the judge; every item gets exactly one verdict, matched by item id, whatever the judge returns."""
    try:
        replies = list(judge.answer(media, list(items)))
    except Exception as exc:  # a judge failure becomes error verdicts, retried next run
        message = f"{type(exc).__name__}: {exc}"[:500]
        log.warning("judge %s failed on %d items: %s", judge.name, len(items), message)
        return [_error_verdict(judge, item, message) for item in items]
    by_id: dict[str, Verdict] = {}
    for reply in replies:
        if isinstance(reply, Verdict) and reply.item_id not in by_id:
            by_id[reply.item_id] = reply
    out = []
    for item in items:
        verdict = by_id.get(item.id)
        if verdict is None:
            verdict = _error_verdict(judge, item, f"judge returned no verdict for item {item.id}")
        elif verdict.status is VerdictStatus.answered and verdict.answer is None:
            verdict = verdict.model_copy(update={"status": VerdictStatus.error, "error": "answered without an answer"})
        out.append(verdict)
    return out


_thread_locks: dict[str, threading.Lock] = {}
_registry_lock = threading.Lock()


@contextmanager
def batch_lock(store: Store, key: str) -> Iterator[None]:
    """Serialise read-merge-write of one batch: across threads, and across processes on this machine.

    Two tasks may update one batch at once (two audits, or two scenes whose clips are byte-identical).
    Local stores get an flock on a lock file outside the store; object stores cannot lock, and there the
    re-read just before writing narrows the race to a lost update, which the next run asks again.
    """
    with _registry_lock:
        lock = _thread_locks.setdefault(key, threading.Lock())
    with lock:
        if not store.is_local:
            yield
            return
        folder = Path(tempfile.gettempdir()) / "mtavg-locks"
        folder.mkdir(exist_ok=True)
        name = hashlib.sha256(str(store.local_path(key)).encode()).hexdigest()[:32]
        with open(folder / f"{name}.lock", "a+") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _write_batch(store: Store, key: str, judge: Judge, sha: str, fresh: dict[str, Verdict], force: bool) -> None:
    """Merge fresh verdicts into the stored batch (re-read under the batch lock) and write it atomically."""
    with batch_lock(store, key):
        _merge_and_put(store, key, judge, sha, fresh, force)


def _merge_and_put(store: Store, key: str, judge: Judge, sha: str, fresh: dict[str, Verdict], force: bool) -> None:
    merged = load_batch(store, key)
    for vkey, verdict in fresh.items():
        old = merged.get(vkey)
        # a concurrent run may have answered meanwhile: never replace a final verdict with a retryable one
        if force or old is None or not old.final or verdict.final:
            merged[vkey] = verdict
    payload = {
        "format": BATCH_FORMAT,
        "judge": judge_identity(judge),
        "media_sha256": sha,
        "verdicts": {k: v.model_dump(mode="json") for k, v in sorted(merged.items())},
    }
    store.put_bytes(key, json.dumps(payload, sort_keys=True, separators=(",", ":")).encode())


def _same(old: Verdict | None, new: Verdict | None) -> bool:
    if old is None or new is None:
        return False
    return old.model_dump(exclude={"elapsed_s"}) == new.model_dump(exclude={"elapsed_s"})


def run_clip(judge: Judge, media: Any, items: Sequence[QAItem], store: Store, *, force: bool = False) -> ClipDiagnosis:
    """Verdicts for one clip's items: cached `answered` ones reused, the rest asked in one judge call."""
    started = time.perf_counter()
    items = list(items)
    ids = [item.id for item in items]
    if len(set(ids)) != len(ids):
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(f"duplicate item ids for one clip: {', '.join(dupes[:5])}")
    sha = media_sha(media)
    key = batch_key_for(judge, sha)
    vkeys = [verdict_key(judge, sha, item) for item in items]
    stored = {} if force else load_batch(store, key)
    results: list[Verdict | None] = [None] * len(items)
    todo: list[int] = []
    # a judge that declares itself deterministic would abstain again on the same media: keep its abstentions
    keep_abstained = getattr(judge, "deterministic", False) is True
    for i, vkey in enumerate(vkeys):
        cached = stored.get(vkey)
        if cached is not None and (cached.final or (keep_abstained and cached.status is VerdictStatus.abstained)):
            results[i] = cached
        else:
            todo.append(i)
    covers = getattr(judge, "covers", None)
    if todo and callable(covers):
        # a judge that can tell from the item alone that it cannot answer (no probe for the mode) abstains here,
        # without decoding the clip; abstentions stay retryable, so a judge that learns a mode is asked again
        for i in [i for i in todo if not covers(items[i])]:
            results[i] = Verdict(item_id=items[i].id, judge=judge.name, judge_version=str(judge.version),
                                 status=VerdictStatus.abstained, evidence={"reason": "the judge does not cover this item"})
    ask = [i for i in todo if results[i] is None]
    if ask:
        fresh = _ask(judge, media, [items[i] for i in ask])
        for i, verdict in zip(ask, fresh):
            results[i] = verdict
    changed = {vkeys[i]: results[i] for i in todo if not _same(stored.get(vkeys[i]), results[i])}
    if changed:  # a re-run whose retries come back the same (e.g. the same abstentions) writes nothing
        _write_batch(store, key, judge, sha, changed, force)
    verdicts = [v for v in results if v is not None]
    assert len(verdicts) == len(items)
    counts: dict[str, int] = {}
    for v in verdicts:
        counts[v.status.value] = counts.get(v.status.value, 0) + 1
    return ClipDiagnosis(
        verdicts=verdicts,
        batch_key=key,
        cached=len(items) - len(todo),
        asked=len(ask),
        elapsed_s=time.perf_counter() - started,
        counts=counts,
    )


def diagnose_clip(judge: Judge, media: Any, items: Sequence[QAItem], store: Store, *, force: bool = False) -> list[Verdict]:
    """One verdict per item, in order, through the verdict cache; `force` asks the judge about every item."""
    return run_clip(judge, media, items, store, force=force).verdicts


def cached_verdicts(
    judge: Judge | dict[str, Any], media_sha256: str, items: Sequence[QAItem], store: Store
) -> list[Verdict | None]:
    """The stored verdict (any status) of each item for a clip, or None; nothing is asked.

    `judge` may be the judge or its `judge_identity` (so readers need not build the judge).
    """
    identity = _identity(judge)
    stored = load_batch(store, batch_key_for(identity, media_sha256))
    return [stored.get(verdict_key(identity, media_sha256, item)) for item in items]
