"""Judge call throughput against a rate-limited local server: achieved rate over the server's limit.

A local fake API (200 ms latency per request, a 10 requests/s limit enforced with 429s) is asked
about one clip's items, one item per request. The omni judge's client-side token bucket (set to the
limit) and concurrency slots should keep it at the limit: goal ≥ 0.90 of 10 req/s, no 429 storm,
no duplicate calls. For contrast the same work runs with a naive client (no client-side limit,
8 in flight) against the same server: it gets 429s and needs retries.

    .venv/bin/python benchmarks/judges.py [--requests 100] [--provider gemini|openai|both]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fakes.gemini_server import FakeGemini, synthetic_clip
from fakes.openai_server import FakeOpenAI

from diagnosers import build_judge
from diagnosers.media import ClipMedia
from scenes.loader import load_suite
from storage import Store
from taxonomy.items import Format
from taxonomy.qa import scene_items

LIMIT_RPS = 10.0
LATENCY_S = 0.2


def run(provider: str, items, clip, store: Store, client: str) -> dict:
    server_cls = FakeGemini if provider == "gemini" else FakeOpenAI
    with server_cls(latency_s=LATENCY_S, rps_limit=LIMIT_RPS) as server:
        base = f"{server.url}/v1" if provider == "openai" else server.url
        settings = "rps=10&burst=1&concurrency=6" if client == "mtavg" else "rps=1000&burst=1000&concurrency=8"
        media = "inline_max_bytes=5000000" if provider == "gemini" else "video=video_url"
        spec = f"{provider}?base_url={base}&batch_size=1&{media}&backoff_s=0.1&{settings}"
        judge = build_judge(spec, store=store, api_key=server.api_key)
        started = time.perf_counter()
        verdicts = judge.answer(clip, items)
        elapsed = time.perf_counter() - started
        answered = sum(v.final for v in verdicts)
        duplicates = sum(n - 1 for n in server.answered_per_item.values() if n > 1)
        return {
            "provider": provider,
            "client": client,
            "requests": len(items),
            "answered": answered,
            "elapsed_s": round(elapsed, 2),
            "throughput_rps": round(answered / elapsed, 2),
            "ratio_to_limit": round(answered / elapsed / LIMIT_RPS, 3),
            "server_429": server.rate_limited,
            "retries": judge.usage()["retries"],
            "duplicate_calls": duplicates,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--provider", choices=["gemini", "openai", "both"], default="both")
    args = parser.parse_args()
    os.environ.setdefault("MTAVG_HOME", tempfile.mkdtemp(prefix="mtavg-bench-"))
    scene = load_suite("mini").scenes[0]
    items = [i for i in scene_items(scene) if i.format is not Format.pairwise][: args.requests]
    with tempfile.TemporaryDirectory() as tmp:
        clip = ClipMedia.open(synthetic_clip(str(Path(tmp) / "bench.mp4")), scene)
        providers = ["gemini", "openai"] if args.provider == "both" else [args.provider]
        rows = []
        for provider in providers:
            for client in ("mtavg", "naive"):
                rows.append(run(provider, items, clip, Store(str(Path(tmp) / f"store-{provider}-{client}")), client))
    print(f"server: {LATENCY_S * 1000:.0f} ms latency, {LIMIT_RPS:.0f} req/s limit; {len(items)} requests (one item each)")
    head = list(rows[0])
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        print("| " + " | ".join(str(r[k]) for k in head) + " |")
    ok = all(r["ratio_to_limit"] >= 0.90 and r["duplicate_calls"] == 0 and r["server_429"] <= 1 for r in rows if r["client"] == "mtavg")
    print(f"goal (mtavg client): throughput/limit >= 0.90, no 429 storm, no duplicate calls: {'MET' if ok else 'NOT MET'}")


if __name__ == "__main__":
    main()
