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

import email.parser
import email.policy
import json
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlparse

from .base import (
    Reply,
    bytes_reply,
    json_reply,
    openai_error,
    run_standalone,
)
from .media import render_test_clip
from .video import VideoJobFake

API_KEY = "test-sora-key"


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


def invalid_request(status: int, message: str, code: str | None = None) -> Reply:
    return openai_error(status, message, "invalid_request_error", code)


class SoraServer(VideoJobFake):
    """OpenAI's videos create, retrieve and download calls."""

    api_key = API_KEY
    url_suffix = "/v1"

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.downloads = 0
        self.videos: dict[str, dict[str, Any]] = {}

    def _video(self, vid: str) -> dict[str, Any]:
        v = self.videos[vid]
        return {"id": vid, "object": "video", "created_at": v["created_at"], "model": v["model"], "seconds": v["seconds"],
                "size": v["size"], "prompt": v["prompt"], "status": v["status"], "progress": v["progress"],
                "completed_at": v.get("completed_at"), "error": v.get("error"), "expires_at": None,
                "remixed_from_video_id": None}

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> Reply:
        if headers.get("authorization") != f"Bearer {self.api_key}":
            return invalid_request(401, "Incorrect API key provided.", "invalid_api_key")
        if method == "POST":
            if urlparse(path).path.rstrip("/") != "/v1/videos":
                return invalid_request(404, f"no route {path}")
            return self._create(parse_form(headers.get("content-type", ""), body))
        if method == "GET":
            return self._get(urlparse(path).path.strip("/").split("/"))
        return invalid_request(404, f"no route {method} {path}")

    def _create(self, form: dict[str, str]) -> Reply:
        fault = self.attempt_create(form)
        if fault == "429":
            return openai_error(429, "Rate limit reached for videos.", "requests", "rate_limit_exceeded", {"retry-after-ms": "10"})
        if fault == "500":
            return openai_error(500, "The server had an error while processing your request.", "server_error", None)
        prompt = form.get("prompt", "")
        if not prompt:
            return invalid_request(400, "Missing required parameter: 'prompt'.", "missing_required_parameter")
        if "forbidden" in prompt.lower():
            return invalid_request(400, "Your request was blocked by our moderation system.", "moderation_blocked")
        vid = f"video_{uuid.uuid4().hex}"
        with self.lock:
            self.creates += 1
            self.videos[vid] = {"prompt": prompt, "model": form.get("model", "sora-2"), "seconds": form.get("seconds", "4"),
                                "size": form.get("size", "720x1280"), "status": "queued", "progress": 0, "polls": 0,
                                "created_at": int(time.time())}
        return json_reply(200, self._video(vid))

    def _get(self, parts: list[str]) -> Reply:
        if len(parts) < 3 or parts[:2] != ["v1", "videos"] or parts[2] not in self.videos:
            return invalid_request(404, f"Video {parts[2] if len(parts) > 2 else ''} not found")
        vid = parts[2]
        v = self.videos[vid]
        if len(parts) == 4 and parts[3] == "content":
            if v["status"] != "completed":
                return invalid_request(409, "Video is not ready yet.")
            with self.lock:
                self.downloads += 1
            w, h = (int(x) for x in v["size"].split("x"))
            clip = render_test_clip(float(v["seconds"]), width=w // 8, height=h // 8, seed=len(v["prompt"]), tone_hz=220.0)
            return bytes_reply(200, clip, "video/mp4")
        with self.lock:
            self.polls += 1
            v["polls"] += 1
            if v["status"] in ("queued", "in_progress"):
                if v["polls"] >= self.polls_to_finish:
                    if "filtered" in v["prompt"].lower():
                        v.update(status="failed", error={"code": "moderation_blocked",
                                                         "message": "The generated video was flagged by moderation."})
                    else:
                        v.update(status="completed", progress=100, completed_at=int(time.time()))
                else:
                    v.update(status="in_progress", progress=50)
        return json_reply(200, self._video(vid))


def main() -> None:
    run_standalone(lambda args: SoraServer(port=args.port), __doc__, 8124, "Sora", "OPENAI_API_KEY")


if __name__ == "__main__":
    main()
