"""A local HTTP server that behaves like an OpenAI-compatible chat-completions endpoint (vLLM, SGLang, OpenAI).

`POST /v1/chat/completions` with the content parts omni servers take (`video_url`, `image_url`,
`input_audio`, `audio_url`, `text`); answers computed from the request like the fake Gemini
(see `model.py`: items from the prompt, media probed with PyAV, seeded rule or oracle). It can
refuse `response_format: json_schema` like servers without structured output, and injects the
same faults, plus OpenAI's own error shapes (429 `rate_limit_exceeded` with retry-after, 429
`insufficient_quota`, a refusal message).

Run standalone: `python -m tests.fakes.openai_server --port 8766`.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections import Counter
from typing import Any

from .base import (
    Faults,
    Reply,
    json_reply,
    openai_error,
    run_standalone,
)
from .model import Answered, ModelFake, probe_streams, spoiled


def data_url_bytes(url: str) -> bytes:
    return base64.b64decode(url.split(",", 1)[1])


class FakeOpenAI(ModelFake):
    """Chat completions with multimodal parts, structured output (optional), faults and counters."""

    url_suffix = "/v1"

    def __init__(self, *, supports_json_schema: bool = True, supports_json_object: bool = True, **kwargs: Any):
        super().__init__(**kwargs)
        self.supports_json_schema = supports_json_schema
        self.supports_json_object = supports_json_object
        self.part_types: Counter[str] = Counter()
        self.response_formats: Counter[str] = Counter()
        self.extra_seen: list[dict[str, Any]] = []

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> Reply:
        if headers.get("Authorization") != f"Bearer {self.api_key}":
            return openai_error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
        if method == "POST" and path.rstrip("/").endswith("/v1/chat/completions"):
            self.count("POST chat/completions")
            return self._chat(json.loads(body))
        if method == "GET" and path.rstrip("/").endswith("/v1/models"):
            return json_reply(200, {"object": "list", "data": [{"id": "fake-omni", "object": "model"}]})
        return openai_error(404, f"no route {method} {path}", "invalid_request_error", None)

    def failure(self, kind: str, model: str, wait_s: float = 0.0) -> Reply:
        if kind == "throttled":
            return openai_error(429, "Rate limit reached for requests per second.", "requests", "rate_limit_exceeded",
                                {"retry-after-ms": str(int(wait_s * 1000) + 1)})
        if kind == "429":
            return openai_error(429, "Rate limit reached.", "requests", "rate_limit_exceeded", {"retry-after": str(self.faults.retry_after_s)})
        if kind == "quota":
            return openai_error(429, "You exceeded your current quota, please check your plan and billing details.",
                                "insufficient_quota", "insufficient_quota")
        if kind == "500":
            return openai_error(500, "The server had an error while processing your request.", "server_error", None)
        if kind == "503":
            return openai_error(503, "The engine is currently overloaded.", "server_error", None)
        return openai_error(400, "fake server: the prompt has no <items> block", "invalid_request_error", None)

    def record(self, request: dict[str, Any]) -> None:
        self.extra_seen.append({k: v for k, v in request.items() if k not in ("messages", "response_format")})

    def _media_seen(self, parts: list[dict[str, Any]], use_audio_in_video: bool) -> tuple[bool, bool]:
        video = audio = False
        for part in parts:
            kind = part.get("type")
            self.part_types[kind] += 1
            if kind == "image_url":
                video = True
            elif kind == "video_url":
                v, a = probe_streams(data_url_bytes(part["video_url"]["url"]))
                video = video or v
                audio = audio or (a and use_audio_in_video)
            elif kind == "input_audio":
                audio = audio or probe_streams(base64.b64decode(part["input_audio"]["data"]))[1]
            elif kind == "audio_url":
                audio = audio or probe_streams(data_url_bytes(part["audio_url"]["url"]))[1]
        return video, audio

    def _completion(self, request: dict[str, Any], content: str | None, finish: str, prompt_tokens: int,
                    refusal: str | None = None, cid: str | None = None) -> Reply:
        completion_tokens = len(content or "") // 4
        return json_reply(200, {
            "id": cid or f"chatcmpl-{uuid.uuid4().hex[:12]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model"),
            "choices": [{"index": 0, "finish_reason": finish, "message": {"role": "assistant", "content": content, "refusal": refusal}}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens},
        })

    def _chat(self, request: dict[str, Any]) -> Reply:
        fmt = (request.get("response_format") or {}).get("type", "none")
        with self.lock:
            self.response_formats[fmt] += 1
        if fmt == "json_schema" and not self.supports_json_schema:
            return openai_error(400, "response_format json_schema is not supported by this server", "BadRequestError", None)
        if fmt == "json_object" and not self.supports_json_object:
            return openai_error(400, "response_format json_object is not supported by this server", "BadRequestError", None)
        parts: list[dict[str, Any]] = []
        for message in request.get("messages", []):
            content = message.get("content")
            if message.get("role") == "user":
                parts += [{"type": "text", "text": content}] if isinstance(content, str) else content
        prompt = "\n".join(p["text"] for p in parts if p.get("type") == "text")
        graded = self.grade(prompt)
        if graded is not None:
            return self._completion(request, graded, "stop", len(prompt) // 4, cid="chatcmpl-grade")
        mm = request.get("mm_processor_kwargs") or {}
        media = [p for p in parts if p.get("type") != "text"]
        outcome = self.answer_items(request, prompt, str(request.get("model")),
                                    lambda: self._media_seen(media, bool(mm.get("use_audio_in_video"))))
        if not isinstance(outcome, Answered):
            return outcome
        text = outcome.text if fmt != "none" else "Here are my answers.\n```json\n" + outcome.text + "\n```"
        text, cut = spoiled(text, outcome.fault)
        prompt_tokens = 200 * max(1, len(parts) - 1) + len(prompt) // 4
        if outcome.kind == "refusal":
            return self._completion(request, None, "stop", prompt_tokens, refusal="I'm sorry, but I can't help with that request.")
        return self._completion(request, text, "length" if cut else "stop", prompt_tokens)


def main() -> None:
    run_standalone(lambda args: FakeOpenAI(faults=Faults(rate=args.fault_rate, seed=args.seed), seed=args.seed, port=args.port),
                   __doc__, 8766, "OpenAI-compatible server", "OPENAI_API_KEY", faults=True)


if __name__ == "__main__":
    main()
