"""The omni judge: batches a clip's items, calls a provider adapter robustly, reads answers into verdicts.

Provider adapters (`gemini.py`, `openai_compat.py`) only know how to turn clips into request parts
and make one raw request; everything else — modality handling, batching, threads, rate limit,
retries, reply parsing, cost — lives here once.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from diagnosers.base import Verdict, VerdictStatus
from diagnosers.omni.calls import (
    CallFailed,
    CallRunner,
    QuotaExhausted,
    RetryPolicy,
    SlotFactory,
    TokenBucket,
)
from diagnosers.omni.config import Modality, OmniConfig
from diagnosers.omni.cost import cost_usd, price_for
from diagnosers.omni.parsing import read
from diagnosers.omni.prompts import PROMPT_VERSION, SYSTEM, user_prompt
from diagnosers.omni.schema import answer_schema
from storage import ComponentSpec, SpecError, Store
from taxonomy.items import QAItem

log = logging.getLogger(__name__)


@dataclass
class Reply:
    """One raw model reply: its text, token counts, and why it stopped."""

    text: str
    tokens_in: int = 0
    tokens_out: int = 0
    finish: str | None = None
    refusal: str | None = None  # set when the model declined to answer (safety block, refusal message)


class Provider(Protocol):
    """What an adapter supplies: request parts for clips, and one raw request."""

    def prepare(self, clips: Sequence[Any], modality: Modality, calls: CallRunner) -> list[Any]: ...

    def ask(self, parts: list[Any], system: str, prompt: str, schema: dict[str, Any]) -> Reply: ...

    def classify(self, exc: BaseException) -> BaseException: ...


def media_clips(media: Any) -> tuple[list[Any], list[Any], str]:
    """(clips, scenes, kind) for a ClipMedia, a MediaPair (A then B) or a MediaChain (story order)."""
    if media is None:
        return [], [None], "clip"
    if hasattr(media, "a") and hasattr(media, "b"):
        return [media.a, media.b], [media.a.scene], "pair"
    chain = getattr(media, "scenes", None)
    if isinstance(chain, list) and chain and hasattr(chain[0], "sha256"):
        return list(chain), [c.scene for c in chain], "chain"
    return [media], [getattr(media, "scene", None)], "clip"


def resolve_api_key(config: OmniConfig, provider: str, api_key: str | None) -> str:
    """The key passed by the caller (e.g. flows resolving a Prefect Secret block), else the env var."""
    if api_key:
        return api_key
    if config.api_key_env and os.environ.get(config.api_key_env):
        return os.environ[config.api_key_env]
    hint = f"set {config.api_key_env}" if config.api_key_env else "set api_key_env"
    raise SpecError(
        f"{provider} judge: no API key: {hint}, or name a Prefect Secret block in api_key_secret "
        "(resolved by the flows and passed to the judge)"
    )


class OmniJudge:
    """A judge backed by an omni model behind an API: one verdict per item, never a guessed answer."""

    adapter_version = "1"

    def __init__(
        self,
        name: str,
        config: OmniConfig,
        spec: ComponentSpec,
        provider: Provider,
        *,
        api_key: str | None = None,
        slot: SlotFactory | None = None,
        store: Store | None = None,
    ):
        self.name = name
        self.config = config
        self.spec = spec
        self.version = f"{self.adapter_version}.p{PROMPT_VERSION}"
        self.provider = provider
        self._api_key = api_key
        self.store = store
        self.calls = CallRunner(
            RetryPolicy(config.max_attempts, config.backoff_s, config.backoff_max_s, config.jitter, config.retry_after_max_s),
            TokenBucket(config.rps, config.burst),
            config.concurrency,
            slot,
        )
        self.exhausted: str | None = None  # set once a quota error says no more calls will succeed today
        self._lock = threading.Lock()
        self.price_in, self.price_out, self.price_known = price_for(config.model, config.price_in_per_mtok, config.price_out_per_mtok)

    # the Prefect global concurrency limit hook: flows set `judge.slot = lambda: concurrency(...)`
    @property
    def slot(self) -> SlotFactory | None:
        return self.calls.slot

    @slot.setter
    def slot(self, factory: SlotFactory | None) -> None:
        self.calls.slot = factory

    def _redact(self, text: str) -> str:
        return text.replace(self._api_key, "***") if self._api_key else text

    def _verdict(self, item: QAItem, status: VerdictStatus, **fields: Any) -> Verdict:
        return Verdict(item_id=item.id, judge=self.name, judge_version=self.version, status=status, **fields)

    def _errors(self, items: Sequence[QAItem], message: str) -> list[Verdict]:
        return [self._verdict(i, VerdictStatus.error, error=self._redact(message)) for i in items]

    def _quota(self, exc: QuotaExhausted) -> str:
        with self._lock:
            if self.exhausted is None:
                self.exhausted = f"{self.name} ({self.config.model}): quota exhausted, not retrying until it resets: {self._redact(str(exc))}"
                log.error(self.exhausted)
            return self.exhausted

    def answer(self, media: Any, items: Sequence[QAItem]) -> list[Verdict]:
        """One verdict per item, in order: answered, unparsed (raw kept) or error (with the reason)."""
        items = list(items)
        if not items:
            return []
        if self.exhausted:
            return self._errors(items, self.exhausted)
        modality = self.config.modality
        clips, scenes, kind = media_clips(media)
        try:
            parts = self.provider.prepare(clips, modality, self.calls) if modality is not Modality.text_only else []
        except QuotaExhausted as exc:
            return self._errors(items, self._quota(exc))
        except CallFailed as exc:
            return self._errors(items, f"media upload failed: {exc}")
        except (OSError, ValueError) as exc:  # no file, undecodable clip: say which, ask nothing
            return self._errors(items, f"could not prepare the media: {type(exc).__name__}: {exc}")
        batches = [items[k : k + self.config.batch_size] for k in range(0, len(items), self.config.batch_size)]
        workers = min(self.config.concurrency, len(batches))
        if workers == 1:
            results = [self._ask_batch(parts, scenes, kind, b) for b in batches]
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"{self.name}-judge") as pool:
                results = list(pool.map(lambda b: self._ask_batch(parts, scenes, kind, b), batches))
        by_id = {v.item_id: v for batch in results for v in batch}
        return [by_id[item.id] for item in items]

    def _ask_batch(self, parts: list[Any], scenes: list[Any], kind: str, batch: list[QAItem]) -> list[Verdict]:
        """Ask about a batch; re-ask only the items whose reply could not be read, `reply_retries` times."""
        done: dict[str, Verdict] = {}
        spent: dict[str, list[float]] = {item.id: [0.0, 0, 0, 0.0] for item in batch}  # cost, in, out, seconds
        pending = list(batch)
        for round_ in range(self.config.reply_retries + 1):
            if self.exhausted:
                break
            prompt = user_prompt(scenes, pending, self.config.modality, kind)
            started = time.perf_counter()
            try:
                reply, attempts = self.calls.call(
                    lambda text=prompt, asked=pending: self.provider.ask(parts, SYSTEM, text, answer_schema(asked)),
                    describe=lambda e: self._redact(f"{type(e).__name__}: {e}")[:500],
                )
            except QuotaExhausted as exc:
                message = self._quota(exc)
                done.update({v.item_id: v for v in self._errors(pending, message)})
                pending = []
                break
            except CallFailed as exc:
                done.update({v.item_id: v for v in self._errors(pending, str(exc))})
                pending = []
                break
            elapsed = time.perf_counter() - started
            share = len(pending)
            cost = cost_usd(reply.tokens_in, reply.tokens_out, self.price_in, self.price_out) / share
            evidence = {
                "model": self.config.model,
                "modality": self.config.modality.value,
                "attempts": attempts,
                "round": round_ + 1,
                "batch_items": share,
                "finish": reply.finish,
                "price_known": self.price_known,
            }
            for item in pending:  # a re-asked item carries the cost of every request it was part of
                acc = spent[item.id]
                acc[0] += cost
                acc[1] += reply.tokens_in // share
                acc[2] += reply.tokens_out // share
                acc[3] += elapsed / share
            common: dict[str, Any] = {}
            if reply.refusal:
                for item in pending:
                    done[item.id] = self._verdict(
                        item, VerdictStatus.unparsed, raw=reply.text or None, error=f"content refusal: {reply.refusal}",
                        evidence=dict(evidence, parse="refused"), **common
                    )
                continue
            readings, how = read(reply.text, pending)
            still = []
            for item in pending:
                r = readings[item.id]
                if r.answer is not None:
                    done[item.id] = self._verdict(
                        item, VerdictStatus.answered, answer=r.answer, rationale=r.rationale,
                        evidence=dict(evidence, parse=how), **common
                    )
                else:
                    problem = r.problem or "unreadable"
                    if reply.finish and reply.finish.upper() in {"MAX_TOKENS", "LENGTH"}:
                        problem = f"reply truncated ({reply.finish}): {problem}"
                    done[item.id] = self._verdict(
                        item, VerdictStatus.unparsed, raw=reply.text, error=problem, rationale=r.rationale,
                        evidence=dict(evidence, parse=how), **common
                    )
                    still.append(item)
            pending = still
            if not pending:
                break
        if pending and self.exhausted:
            for item in pending:
                done.setdefault(item.id, self._errors([item], self.exhausted)[0])
        out = []
        for item in batch:
            verdict = done.get(item.id) or self._errors([item], self.exhausted or "not asked")[0]
            cost, tin, tout, secs = spent[item.id]
            out.append(verdict.model_copy(update={"cost_usd": cost, "tokens_in": int(tin), "tokens_out": int(tout), "elapsed_s": secs}))
        return out

    def usage(self) -> dict[str, Any]:
        """Call counters of this judge (requests, retries, 429s, seconds waited on the limiter)."""
        s = self.calls.stats
        return {"requests": s.requests, "retries": s.retries, "rate_limited": s.rate_limited, "waited_s": round(s.waited_s, 3)}


