"""On-disk cache of synthesized lines: one .npy per content hash, written atomically."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from generators.voices.base import Speech


def speech_key(payload: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of everything that shapes a line's audio."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


class SpeechCache:
    """`get`/`put` Speech by key under `root/<key[:2]>/<key>.npy` (sample rate stored as the first value)."""

    def __init__(self, root: Path, enabled: bool = True):
        self.root = Path(root)
        self.enabled = enabled

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npy"

    def get(self, key: str) -> Speech | None:
        path = self.path(key)
        if not self.enabled or not path.exists():
            return None
        try:
            data = np.load(path, allow_pickle=False)
            return Speech(data[1:].astype(np.float32), int(data[0]))
        except (OSError, ValueError, IndexError):
            return None  # a damaged entry is rebuilt by the caller and overwritten

    def put(self, key: str, speech: Speech) -> None:
        if not self.enabled:
            return
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                # float32 holds every audio rate exactly (all are integers far below 2**24)
                np.save(fh, np.concatenate([[np.float32(speech.sample_rate)], speech.samples]).astype(np.float32), allow_pickle=False)
            os.replace(tmp, path)
        except OSError:
            Path(tmp).unlink(missing_ok=True)
