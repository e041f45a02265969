"""The in-flight request journal: one small JSON record per paid request, kept in the artifact store.

Before the first record is written, a process *claims* the request (an exclusive create on local
stores; a best-effort check-then-put on object stores, which have no conditional put through
fsspec), so two audits rendering the same clip at once make one create call: the other waits for
the record to say `submitted` and polls the same job.

A paid request goes through `submitting` (written before the create call) → `submitted` (with the
provider's job id, written as soon as the create call returns) → `done` (the video is in the store)
or `failed` (the provider refused or failed the job; final). A run that finds `submitted` polls that
job instead of creating a new one, so a crash after the create call costs nothing more. A run that
finds `submitting` cannot know whether the provider accepted the request (the process died inside
the create call), so it refuses to resubmit unless told to (`resubmit_unconfirmed=true`).
"""

from __future__ import annotations

import json
import os
import socket
import time
from enum import Enum
from typing import Any

from pydantic import BaseModel, Field

from storage import Store, safe_segment


class JobState(str, Enum):
    submitting = "submitting"
    submitted = "submitted"
    done = "done"
    failed = "failed"


class JobRecord(BaseModel):
    """One paid request: what was asked, the provider's handle, where it stands."""

    provider: str
    model: str
    request_key: str = Field(description="content key of the request (clip key + segment)")
    state: JobState
    job_id: str | None = Field(None, description="operation name (Veo) or video id (Sora)")
    artifact: str | None = Field(None, description="store key of the downloaded video once done")
    failure: str | None = None
    seconds: float = 0.0
    polls: int = 0
    submitted_at: float | None = None
    updated_at: float = Field(default_factory=time.time)
    extra: dict[str, Any] = Field(default_factory=dict)


def request_prefix(provider: str, request_key: str) -> str:
    return f"generations/{safe_segment(provider)}/{safe_segment(request_key)}"


class Journal:
    """Read and write job records under `generations/<provider>/<request_key>/job.json`."""

    def __init__(self, store: Store, provider: str):
        self.store = store
        self.provider = provider

    def key(self, request_key: str) -> str:
        return f"{request_prefix(self.provider, request_key)}/job.json"

    def artifact_key(self, request_key: str) -> str:
        return f"{request_prefix(self.provider, request_key)}/video.mp4"

    def get(self, request_key: str) -> JobRecord | None:
        key = self.key(request_key)
        if not self.store.exists(key):
            return None
        return JobRecord.model_validate(self.store.get_json(key))

    def put(self, record: JobRecord) -> JobRecord:
        record.updated_at = time.time()
        self.store.put_json(self.key(record.request_key), record.model_dump(mode="json"))
        return record

    def records(self) -> list[JobRecord]:
        """Every job this provider has in the store (for `in flight` listings and cost totals)."""
        out = []
        for key in self.store.list(f"generations/{safe_segment(self.provider)}"):
            if key.endswith("/job.json"):
                out.append(JobRecord.model_validate(self.store.get_json(key)))
        return out

    # -- the submission claim ----------------------------------------------------------------------
    def claim_key(self, request_key: str) -> str:
        return f"{request_prefix(self.provider, request_key)}/claim.json"

    def claim(self, request_key: str) -> bool:
        """Become the one process that submits this request; False when another already is."""
        key = self.claim_key(request_key)
        payload = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "at": time.time()}).encode()
        if not self.store.is_local:
            if self.store.exists(key):
                return False
            self.store.put_bytes(key, payload)
            return True
        path = self.store.local_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        return True

    def claim_age(self, request_key: str) -> float:
        """Seconds since the claim was taken (0 while its file is being written, inf without one)."""
        key = self.claim_key(request_key)
        try:
            return max(0.0, time.time() - float(json.loads(self.store.get_bytes(key))["at"]))
        except KeyError:
            return float("inf")
        except (ValueError, TypeError):
            return 0.0

    def release(self, request_key: str) -> None:
        self.store.delete(self.claim_key(request_key))
