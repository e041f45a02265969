"""Content keys and the store's key layout (DESIGN §3).

    clips/<generator>/<clip_key>/clip.mp4, manifest.json, stems/...   a rendered clip
    verdicts/<judge>/<clip_sha[:2]>/<batch_key>.json                   one (judge, clip) batch
    calibration/<judge>/<judge_key>.json                               measured sensitivity/specificity
    uploads/<provider>/<media_sha>.json                                remote file handles
    runs/<run_id>/manifest.json, profiles/, report/                   one audit run
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str).encode()


def content_key(*parts: Any, length: int = 24) -> str:
    """Hash of the canonical JSON of the parts: equal inputs give equal keys on every machine."""
    return hashlib.sha256(canonical(list(parts))).hexdigest()[:length]


def sha256_file(path: str, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def safe_segment(name: str) -> str:
    """A component name (`procedural:flawed`) turned into one safe key segment."""
    out = "".join(c if c.isalnum() or c in "._-" else "-" for c in name)
    return out.strip("-.")[:120] or "x"


def clip_prefix(generator_name: str, clip_key: str) -> str:
    return f"clips/{safe_segment(generator_name)}/{clip_key}"


def verdict_batch_key(judge_name: str, media_sha: str, batch_key: str) -> str:
    return f"verdicts/{safe_segment(judge_name)}/{media_sha[:2]}/{batch_key}.json"


def calibration_key(judge_name: str, judge_key: str) -> str:
    return f"calibration/{safe_segment(judge_name)}/{judge_key}.json"


def upload_key(provider: str, media_sha: str) -> str:
    return f"uploads/{safe_segment(provider)}/{media_sha}.json"


def run_prefix(run_id: str) -> str:
    return f"runs/{safe_segment(run_id)}"
