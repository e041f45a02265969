"""The artifact store: one fsspec filesystem under one root URL, with atomic writes and safe keys.

`MTAVG_STORE` picks it (a local folder by default, `s3://bucket/prefix` through s3fs,
`memory://name` in tests). Keys are relative POSIX paths made of safe segments; a key that would
leave the root (absolute, `..`, backslashes, empty segments) is refused before any I/O.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import fsspec

SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._=+-]{0,199}$")


class UnsafeKeyError(ValueError):
    pass


def mtavg_home() -> Path:
    """Where mtavg keeps its local state: `$MTAVG_HOME`, else `.mtavg` in the working directory."""
    return Path(os.environ.get("MTAVG_HOME", ".mtavg")).expanduser().resolve()


def default_store_url() -> str:
    return os.environ.get("MTAVG_STORE") or str(mtavg_home() / "store")


def check_key(key: str) -> str:
    if not isinstance(key, str) or not key:
        raise UnsafeKeyError(f"empty store key {key!r}")
    if key.startswith("/") or "\\" in key or "//" in key:
        raise UnsafeKeyError(f"store key {key!r} must be a relative path with '/' separators")
    for part in key.split("/"):
        if part in {".", ".."} or not SEGMENT.match(part):
            raise UnsafeKeyError(f"store key {key!r}: unsafe segment {part!r}")
    return key


class Store:
    """put/get bytes and JSON under content keys; writes are atomic (temp name, then rename or one put)."""

    def __init__(self, url: str | None = None, **storage_options: Any):
        self.url = (url or default_store_url()).rstrip("/")
        protocol, _, rest = self.url.partition("://")
        if not rest:  # a plain local path
            protocol, rest = "file", str(Path(self.url).expanduser().resolve())
            self.url = rest
        self.protocol = protocol
        self.fs = fsspec.filesystem(protocol, **storage_options)
        self.root = rest if protocol == "file" else self.fs._strip_protocol(self.url)
        if protocol == "file":
            Path(self.root).mkdir(parents=True, exist_ok=True)

    @property
    def is_local(self) -> bool:
        return self.protocol == "file"

    def _path(self, key: str) -> str:
        return f"{self.root}/{check_key(key)}"

    def url_for(self, key: str) -> str:
        path = self._path(key)
        return path if self.is_local else f"{self.protocol}://{path}"

    def local_path(self, key: str) -> Path:
        """The file behind a key when the store is local (for tools that need a real path)."""
        if not self.is_local:
            raise ValueError(f"store {self.url} is not a local folder")
        return Path(self._path(key))

    def exists(self, key: str) -> bool:
        return self.fs.exists(self._path(key))

    def put_bytes(self, key: str, data: bytes) -> str:
        path = self._path(key)
        if self.is_local:
            folder = os.path.dirname(path)
            os.makedirs(folder, exist_ok=True)
            tmp = os.path.join(folder, f".tmp-{uuid.uuid4().hex}")
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)  # atomic on POSIX: readers see the old or the new file, never half
        else:
            self.fs.pipe_file(path, data)  # a single PUT: object stores publish whole objects only
        return key

    def put_file(self, key: str, source: str | Path) -> str:
        path = self._path(key)
        if self.is_local:
            folder = os.path.dirname(path)
            os.makedirs(folder, exist_ok=True)
            tmp = os.path.join(folder, f".tmp-{uuid.uuid4().hex}")
            with open(source, "rb") as src, open(tmp, "wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
                dst.flush()
                os.fsync(dst.fileno())
            os.replace(tmp, path)
        else:
            self.fs.put_file(str(source), path)
        return key

    def get_bytes(self, key: str) -> bytes:
        try:
            return self.fs.cat_file(self._path(key))
        except FileNotFoundError:
            raise KeyError(f"no artifact {key!r} in store {self.url}") from None

    def put_json(self, key: str, obj: Any) -> str:
        return self.put_bytes(key, json.dumps(obj, indent=1, sort_keys=True, default=str).encode())

    def get_json(self, key: str) -> Any:
        return json.loads(self.get_bytes(key))

    @contextmanager
    def open(self, key: str, mode: str = "rb") -> Iterator[Any]:
        if "w" in mode or "a" in mode:
            raise ValueError("write through put_bytes/put_file/put_json so writes stay atomic")
        with self.fs.open(self._path(key), mode) as fh:
            yield fh

    def list(self, prefix: str) -> list[str]:
        """Keys under a prefix (recursive), relative to the root; temporary files excluded."""
        base = self._path(prefix.rstrip("/"))
        if not self.fs.exists(base):
            return []
        out = []
        for path in self.fs.find(base):
            rel = path[len(self.root) + 1 :] if path.startswith(self.root) else path
            if not rel.rsplit("/", 1)[-1].startswith(".tmp-"):
                out.append(rel)
        return sorted(out)

    def delete(self, key: str) -> None:
        path = self._path(key)
        if self.fs.exists(path):
            self.fs.rm(path, recursive=True)

    def __repr__(self) -> str:
        return f"Store({self.url!r})"
