"""Shared machinery of the local fake API servers: HTTP plumbing, fault plans, counters, error shapes.

Every fake is a `FakeServer` subclass that implements `handle(method, path, headers, body) -> Reply`.
The base runs a threaded stdlib HTTP server on 127.0.0.1 (port 0 = any free port) in a background
thread, is a context manager (`with FakeX() as fake:`), counts calls, picks injected faults from a
`Faults` plan (a scripted queue first, then a seeded rate that depends only on the request content
and how often it was seen, so thread timing never changes which calls fail), and serves standalone
via `run_standalone` for the `python -m tests.fakes.X --port N` mode.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

# (status, headers, body): what `FakeServer.handle` returns
Reply = tuple[int, dict[str, str], bytes]

FAULT_KINDS = ("429", "500", "timeout", "garbage", "truncated")


@dataclass(frozen=True)
class Fault:
    """One scripted fault: its kind ("429", "500", "quota", "timeout", ...) and an optional retry-after header value."""

    kind: str
    retry_after: str | None = None


@dataclass
class Faults:
    """Which calls fail and how. `script` (consumed first) lists kinds (or `Fault`s) for the next faultable calls."""

    rate: float = 0.0
    kinds: tuple[str, ...] = FAULT_KINDS
    seed: int = 0
    retry_after_s: float = 0.05
    timeout_sleep_s: float = 1.5
    script: list[str | Fault] = field(default_factory=list)
    upload_rate: float = 0.0  # share of upload/get calls answered 503 (Gemini files API)


def unit(*parts: Any) -> float:
    """A number in [0, 1) from the parts: the seeded rule behind answers and faults."""
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def json_reply(status: int, obj: Any, headers: dict[str, str] | None = None) -> Reply:
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(obj).encode()


def bytes_reply(status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None) -> Reply:
    return status, {"Content-Type": content_type, **(headers or {})}, data


def google_error(code: int, status: str, message: str, details: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None) -> Reply:
    """A Google API error body (`google.rpc.Status` as JSON); `details` only when there are some, like the real API."""
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        error["details"] = details
    return json_reply(code, {"error": error}, headers)


def openai_error(status: int, message: str, type_: str, code: str | None, headers: dict[str, str] | None = None) -> Reply:
    """An OpenAI API error body."""
    return json_reply(status, {"error": {"message": message, "type": type_, "param": None, "code": code}}, headers)


class FakeServer:
    """A ThreadingHTTPServer on 127.0.0.1 in a daemon thread, with a fault plan and call counters."""

    api_key = "test-key"
    url_suffix = ""  # appended to `url` to give the `base_url` an SDK takes

    def __init__(self, *, api_key: str | None = None, faults: Faults | None = None, port: int = 0):
        if api_key:
            self.api_key = api_key
        self.faults = faults or Faults()
        self.lock = threading.Lock()
        self.calls: Counter[str] = Counter()  # endpoint → requests
        self.faults_injected: Counter[str] = Counter()
        self.seen: Counter[str] = Counter()  # request content key → times seen (drives seeded faults)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        return self.url + self.url_suffix

    def start(self) -> Self:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def count(self, endpoint: str) -> None:
        with self.lock:
            self.calls[endpoint] += 1

    def pick_fault(self, content_key: str = "") -> Fault | None:
        """The fault for this call: the script's next entry, else the seeded rate."""
        with self.lock:
            if self.faults.script:
                entry = self.faults.script.pop(0)
                fault = entry if isinstance(entry, Fault) else Fault(entry)
            else:
                self.seen[content_key] += 1
                n = self.seen[content_key]
                fault = None
                if unit(self.faults.seed, content_key, n, "fault") < self.faults.rate:
                    kinds = self.faults.kinds
                    fault = Fault(kinds[int(unit(self.faults.seed, content_key, n, "kind") * len(kinds))])
            if fault is None or fault.kind == "ok":
                return None
            self.faults_injected[fault.kind] += 1
            return fault

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> Reply:
        raise NotImplementedError

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _serve(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                try:
                    status, headers, payload = server.handle(method, self.path, self.headers, body)
                except Exception as exc:  # noqa: BLE001 - a bug in the fake must show as a 500, not a hung client
                    status, headers, payload = json_reply(500, {"error": {"code": 500, "message": f"fake server bug: {exc!r}", "status": "INTERNAL"}})
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout fault)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def do_DELETE(self) -> None:
                self._serve("DELETE")

        return Handler


def run_standalone(make: Callable[[argparse.Namespace], FakeServer], doc: str | None, port: int, name: str, key_env: str,
                   *, faults: bool = False) -> None:
    """A fake's `python -m tests.fakes.X --port N` mode (with `faults`, also `--fault-rate` and `--seed`): serve until Ctrl-C."""
    parser = argparse.ArgumentParser(description=(doc or "").strip().splitlines()[0])
    parser.add_argument("--port", type=int, default=port)
    if faults:
        parser.add_argument("--fault-rate", type=float, default=0.0)
        parser.add_argument("--seed", type=int, default=0)
    with make(parser.parse_args()) as server:
        print(f"fake {name} on {server.base_url} ({key_env}={server.api_key}); Ctrl-C stops", flush=True)
        try:
            server.thread.join()
        except KeyboardInterrupt:
            pass
