"""Remote file handles kept in the store, so one clip is uploaded once while its handle lives.

A record under `storage.upload_key(provider, key)` holds the provider's file name, URI, MIME type
and expiry. Any run or process reading the same store reuses it until `margin_s` before expiry.
Within a process a lock per key makes concurrent askers wait for one upload instead of racing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from pydantic import BaseModel

from storage import Store, upload_key


class UploadRecord(BaseModel):
    provider: str
    key: str
    name: str
    uri: str
    mime_type: str
    size_bytes: int = 0
    expires_at: float = 0.0  # unix seconds; 0 = unknown (treated as expired)
    uploaded_at: float = 0.0


def parse_expiry(value: object) -> float:
    """An RFC 3339 time or datetime as unix seconds (0 when missing)."""
    if value is None:
        return 0.0
    if isinstance(value, datetime):
        dt = value
    else:
        text = str(value).replace("Z", "+00:00")
        dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


class UploadCache:
    """get-or-upload of remote handles keyed by content, shared through the store."""

    def __init__(self, store: Store, provider: str, margin_s: float = 600.0, clock: Callable[[], float] = time.time):
        self.store = store
        self.provider = provider
        self.margin_s = margin_s
        self.clock = clock
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._verified: set[str] = set()
        self.uploads = 0  # uploads made by this process (for reports and tests)

    def _lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def lookup(self, key: str) -> UploadRecord | None:
        """A stored handle that is still alive for at least `margin_s`, else None."""
        skey = upload_key(self.provider, key)
        if not self.store.exists(skey):
            return None
        try:
            record = UploadRecord.model_validate(self.store.get_json(skey))
        except (KeyError, ValueError):
            return None
        if record.expires_at - self.margin_s <= self.clock():
            return None
        return record

    def forget(self, key: str) -> None:
        self.store.delete(upload_key(self.provider, key))

    def get_or_upload(
        self, key: str, upload: Callable[[], UploadRecord], verify: Callable[[UploadRecord], bool] | None = None
    ) -> UploadRecord:
        """The live handle for `key`: reused from the store (checked once per process by `verify`), else uploaded."""
        with self._lock(key):
            record = self.lookup(key)
            if record is not None and (key in self._verified or verify is None or verify(record)):
                self._verified.add(key)
                return record
            record = upload()
            self.uploads += 1
            self._verified.add(key)
            self.store.put_json(upload_key(self.provider, key), record.model_dump(mode="json"))
            return record
