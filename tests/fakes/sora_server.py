"""A local HTTP server that behaves like OpenAI's video API for the calls the openai SDK makes.

    POST /v1/videos                       multipart form: prompt, model, seconds, size (a paid create call)
    GET  /v1/videos/{id}                  the Video object: queued → in_progress → completed | failed
    GET  /v1/videos/{id}/content          ?variant=video: the MP4 (H.264 + AAC, as long as asked)

Checks `Authorization: Bearer <key>` (401 otherwise). Failures: a prompt containing `forbidden` is
refused at create (400, code `moderation_blocked`); `filtered` makes the job end `failed` with a
moderation error; `scripted` faults (`429` with retry-after, `500`) answer the next create calls.
`creates` counts accepted (paid) create calls, `create_attempts` every create request.

Standalone: `python -m tests.fakes.sora_server --port 8124`.
"""

from __future__ import annotations

import argparse
import email.parser
import email.policy
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from tests.fakes.veo_server import render_test_clip

API_KEY = "test-sora-key"


@dataclass
class SoraState:
    api_key: str = API_KEY
    polls_to_finish: int = 2
    creates: int = 0
    create_attempts: int = 0
    polls: int = 0
    downloads: int = 0
    script: list[str] = field(default_factory=list)
    videos: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def parse_form(content_type: str, body: bytes) -> dict[str, str]:
    """Fields of a multipart/form-data (or urlencoded, or JSON) body."""
    if content_type.startswith("application/json"):
        return {k: str(v) for k, v in json.loads(body or b"{}").items()}
    if content_type.startswith("application/x-www-form-urlencoded"):
        return {k: v[0] for k, v in parse_qs(body.decode()).items()}
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"content-type: {content_type}\r\n\r\n".encode() + body
    )
    out = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            out[name] = part.get_payload(decode=True).decode()
    return out


class SoraHandler(BaseHTTPRequestHandler):
    state: SoraState

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: dict[str, Any] | bytes, headers: dict[str, str] | None = None,
              content_type: str = "application/json") -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, code: str | None, kind: str, headers: dict[str, str] | None = None) -> None:
        self._send(status, {"error": {"message": message, "type": kind, "param": None, "code": code}}, headers)

    def _authorized(self) -> bool:
        if self.headers.get("authorization") != f"Bearer {self.state.api_key}":
            self._error(401, "Incorrect API key provided.", "invalid_api_key", "invalid_request_error")
            return False
        return True

    def _video(self, vid: str) -> dict[str, Any]:
        v = self.state.videos[vid]
        out = {"id": vid, "object": "video", "created_at": v["created_at"], "model": v["model"], "seconds": v["seconds"],
               "size": v["size"], "prompt": v["prompt"], "status": v["status"], "progress": v["progress"],
               "completed_at": v.get("completed_at"), "error": v.get("error"), "expires_at": None,
               "remixed_from_video_id": None}
        return out

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length)
        if not self._authorized():
            return
        if urlparse(self.path).path.rstrip("/") != "/v1/videos":
            return self._error(404, f"no route {self.path}", None, "invalid_request_error")
        st = self.state
        form = parse_form(self.headers.get("content-type", ""), body)
        with st.lock:
            st.create_attempts += 1
            st.requests.append(form)
            fault = st.script.pop(0) if st.script else None
        if fault == "429":
            return self._error(429, "Rate limit reached for videos.", "rate_limit_exceeded", "requests",
                               {"retry-after-ms": "10"})
        if fault == "500":
            return self._error(500, "The server had an error while processing your request.", None, "server_error")
        prompt = form.get("prompt", "")
        if not prompt:
            return self._error(400, "Missing required parameter: 'prompt'.", "missing_required_parameter", "invalid_request_error")
        if "forbidden" in prompt.lower():
            return self._error(400, "Your request was blocked by our moderation system.", "moderation_blocked",
                               "invalid_request_error")
        vid = f"video_{uuid.uuid4().hex}"
        with st.lock:
            st.creates += 1
            st.videos[vid] = {"prompt": prompt, "model": form.get("model", "sora-2"), "seconds": form.get("seconds", "4"),
                              "size": form.get("size", "720x1280"), "status": "queued", "progress": 0, "polls": 0,
                              "created_at": int(time.time())}
        self._send(200, self._video(vid))

    def do_GET(self) -> None:
        if not self._authorized():
            return
        url = urlparse(self.path)
        parts = url.path.strip("/").split("/")
        st = self.state
        if len(parts) < 3 or parts[:2] != ["v1", "videos"] or parts[2] not in st.videos:
            return self._error(404, f"Video {parts[2] if len(parts) > 2 else ''} not found", None, "invalid_request_error")
        vid = parts[2]
        v = st.videos[vid]
        if len(parts) == 4 and parts[3] == "content":
            if v["status"] != "completed":
                return self._error(409, "Video is not ready yet.", None, "invalid_request_error")
            with st.lock:
                st.downloads += 1
            w, h = (int(x) for x in v["size"].split("x"))
            clip = render_test_clip(float(v["seconds"]), width=w // 8, height=h // 8, seed=len(v["prompt"]), tone_hz=220.0)
            return self._send(200, clip, content_type="video/mp4")
        with st.lock:
            st.polls += 1
            v["polls"] += 1
            if v["status"] in ("queued", "in_progress"):
                if v["polls"] >= st.polls_to_finish:
                    if "filtered" in v["prompt"].lower():
                        v.update(status="failed", error={"code": "moderation_blocked",
                                                         "message": "The generated video was flagged by moderation."})
                    else:
                        v.update(status="completed", progress=100, completed_at=int(time.time()))
                else:
                    v.update(status="in_progress", progress=50)
        self._send(200, self._video(vid))


class SoraServer:
    """The fake in a background thread on 127.0.0.1 (port 0 = any free port)."""

    def __init__(self, port: int = 0, **state: Any):
        self.state = SoraState(**state)
        handler = type("Handler", (SoraHandler,), {"state": self.state})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}/v1"

    def __enter__(self) -> SoraServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8124)
    args = parser.parse_args()
    with SoraServer(args.port) as server:
        print(f"fake Sora on {server.base_url} (OPENAI_API_KEY={API_KEY})", flush=True)
        server.thread.join()


if __name__ == "__main__":
    main()
