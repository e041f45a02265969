"""OpenAI-compatible judge: chat completions against vLLM / SGLang omni servers or any provider speaking that API.

How a clip travels is configurable, because servers differ:

- `video: video_url` — the MP4 as a base64 data URL in a `video_url` content part (vLLM and
  SGLang multimodal chat; with `audio: in_video` Qwen-Omni models also hear its soundtrack through
  `mm_processor_kwargs.use_audio_in_video`);
- `video: frames` — `max_frames` evenly spaced JPEG frames as `image_url` parts, each preceded by
  its timestamp (any vision chat model);
- `audio: input_audio` — the soundtrack as 16 kHz WAV in an `input_audio` part (OpenAI audio models,
  vLLM); `audio: audio_url` — the same as a data URL in an `audio_url` part (vLLM).

`response_format` starts as a strict `json_schema`; a server that rejects it (HTTP 400 naming
response_format / json_schema) is asked again with `json_object`, then with none (the prompt still
asks for JSON), and the downgrade is remembered for the judge's lifetime.
"""

from __future__ import annotations

import base64
import os
import threading
from collections.abc import Sequence
from typing import Any, Literal

import httpx
import openai
from pydantic import Field

from diagnosers.base import registry
from diagnosers.omni.calls import CallRunner, QuotaExhausted, Transient
from diagnosers.omni.config import Modality, OmniConfig
from diagnosers.omni.judge import OmniJudge, Reply, resolve_api_key
from diagnosers.omni.media_io import (
    audio_blob,
    clip_blob,
    sampled_frames,
    video_only_blob,
)
from storage import ComponentSpec, Store

FORMATS = ("json_schema", "json_object", "none")


class OpenAIConfig(OmniConfig):
    """Settings of the OpenAI-compatible judge (one object; presets name common servers)."""

    model: str = "Qwen/Qwen2.5-Omni-7B"
    base_url: str | None = "http://127.0.0.1:8000/v1"
    api_key_env: str = Field("OPENAI_API_KEY", exclude=True)
    video: Literal["video_url", "frames", "none"] = Field("video_url", description="how the picture is sent")
    audio: Literal["in_video", "input_audio", "audio_url", "none"] = Field("in_video", description="how the sound is sent")
    max_frames: int = Field(16, ge=1, le=256, description="frames sent when video=frames")
    response_format: Literal["json_schema", "json_object", "none"] = Field(
        "json_schema", description="structured output to ask for first (falls back when the server rejects it)"
    )
    extra_body: dict[str, Any] = Field(default_factory=dict, description="extra request fields for the server (e.g. vLLM sampling options)")


PRESETS = {
    "qwen_omni": {"model": "Qwen/Qwen2.5-Omni-7B", "video": "video_url", "audio": "in_video"},
    "qwen3_omni": {"model": "Qwen/Qwen3-Omni-30B-A3B-Instruct", "video": "video_url", "audio": "in_video"},
    "minicpm_o": {"model": "openbmb/MiniCPM-o-2_6", "video": "frames", "audio": "audio_url"},
    "gpt4o": {"model": "gpt-4o", "base_url": "https://api.openai.com/v1", "video": "frames", "audio": "none"},
}


def _retry_after(exc: openai.APIStatusError) -> float | None:
    headers = getattr(exc.response, "headers", None) or {}
    for name in ("retry-after-ms", "retry-after"):
        value = headers.get(name)
        if value:
            try:
                return float(value) / (1000.0 if name.endswith("ms") else 1.0)
            except ValueError:
                continue
    return None


def classify(exc: BaseException) -> BaseException:
    """Map an openai SDK exception to Transient, QuotaExhausted or itself (permanent)."""
    if isinstance(exc, (openai.APITimeoutError, openai.APIConnectionError, httpx.TimeoutException, httpx.TransportError)):
        return Transient(f"{type(exc).__name__}: {exc}")
    if isinstance(exc, openai.APIStatusError):
        body = exc.body if isinstance(exc.body, dict) else {}
        code = body.get("code") or (body.get("error") or {}).get("code") if isinstance(body, dict) else None
        if exc.status_code == 429:
            if code == "insufficient_quota":
                return QuotaExhausted(f"insufficient_quota: {exc.message}")
            return Transient(f"429: {exc.message}", _retry_after(exc), rate_limited=True)
        if exc.status_code in (408, 409) or exc.status_code >= 500:
            return Transient(f"{exc.status_code}: {exc.message}", _retry_after(exc))
    return exc


class OpenAIProvider:
    """Turns clips into chat content parts and makes one chat-completions request."""

    def __init__(self, config: OpenAIConfig, api_key: str):
        self.config = config
        # the SDK's own retries are off: CallRunner owns retries, so limits and counts stay right
        self.client = openai.OpenAI(base_url=config.base_url, api_key=api_key, max_retries=0, timeout=config.timeout_s)
        self._format = config.response_format
        self._lock = threading.Lock()

    def classify(self, exc: BaseException) -> BaseException:
        return classify(exc)

    def prepare(self, clips: Sequence[Any], modality: Modality, calls: CallRunner) -> list[Any]:
        cfg = self.config
        parts: list[dict[str, Any]] = []
        for n, clip in enumerate(clips):
            if len(clips) > 1:
                parts.append({"type": "text", "text": f"[clip {n + 1} of {len(clips)}]"})
            send_video = modality.video and cfg.video != "none"
            send_audio = modality.audio and cfg.audio != "none"
            if send_video and cfg.video == "video_url":
                blob = clip_blob(clip) if (send_audio and cfg.audio == "in_video") else video_only_blob(clip)
                parts.append({"type": "video_url", "video_url": {"url": blob.data_url()}})
            elif send_video and cfg.video == "frames":
                for t, jpg in sampled_frames(clip, cfg.max_frames):
                    parts.append({"type": "text", "text": f"frame at {t:.2f}s"})
                    parts.append({"type": "image_url", "image_url": {"url": "data:image/jpeg;base64," + base64.b64encode(jpg).decode()}})
            audio_separately = send_audio and (cfg.audio != "in_video" or not send_video or cfg.video != "video_url")
            if audio_separately:
                wav = audio_blob(clip)
                if cfg.audio == "audio_url":
                    parts.append({"type": "audio_url", "audio_url": {"url": wav.data_url()}})
                else:  # input_audio, and in_video without a video part to carry the sound
                    parts.append({"type": "input_audio", "input_audio": {"data": base64.b64encode(wav.data).decode(), "format": "wav"}})
        return parts

    def _response_format(self, schema: dict[str, Any]) -> dict[str, Any] | None:
        if self._format == "json_schema":
            return {"type": "json_schema", "json_schema": {"name": "mtavg_answers", "schema": schema, "strict": True}}
        if self._format == "json_object":
            return {"type": "json_object"}
        return None

    def _downgrade(self, tried: str) -> bool:
        with self._lock:
            if self._format != tried:
                return True  # another thread already downgraded: just ask again
            k = FORMATS.index(self._format)
            if k + 1 >= len(FORMATS):
                return False
            self._format = FORMATS[k + 1]
            return True

    def ask(self, parts: list[Any], system: str, prompt: str, schema: dict[str, Any]) -> Reply:
        cfg = self.config
        extra = dict(cfg.extra_body)
        if any(p.get("type") == "video_url" for p in parts) and cfg.audio == "in_video" and cfg.video == "video_url":
            kwargs = dict(extra.get("mm_processor_kwargs") or {})
            kwargs.setdefault("use_audio_in_video", True)
            extra["mm_processor_kwargs"] = kwargs
        messages = [
            {"role": "system", "content": system},
            {"role": "user", "content": [*parts, {"type": "text", "text": prompt}]},
        ]
        tried = self._format
        request: dict[str, Any] = {"model": cfg.model, "messages": messages, "temperature": cfg.temperature, "max_tokens": cfg.max_output_tokens}
        if cfg.seed is not None:
            request["seed"] = cfg.seed
        response_format = self._response_format(schema)
        if response_format is not None:
            request["response_format"] = response_format
        if extra:
            request["extra_body"] = extra
        try:
            completion = self.client.chat.completions.create(**request)
        except openai.BadRequestError as exc:
            text = str(exc).lower()
            rejected = "response_format" in text or "json_schema" in text or "structured" in text
            if response_format is not None and rejected and self._downgrade(tried):
                # the next attempt goes through the limiter and slot again, without backoff
                raise Transient(f"server rejected response_format {tried}: asking with {self._format}", immediate=True) from exc
            raise classify(exc) from exc
        except Exception as exc:
            raise classify(exc) from exc
        return self._reply(completion)

    @staticmethod
    def _reply(completion: Any) -> Reply:
        usage = completion.usage
        tokens_in = usage.prompt_tokens if usage else 0
        tokens_out = usage.completion_tokens if usage else 0
        if not completion.choices:
            return Reply("", tokens_in, tokens_out)
        choice = completion.choices[0]
        message = choice.message
        text = message.content or ""
        refusal = getattr(message, "refusal", None)
        if choice.finish_reason == "content_filter" and not refusal:
            refusal = "finish reason content_filter"
        return Reply(text, tokens_in, tokens_out, finish=choice.finish_reason, refusal=refusal)


@registry.register("openai", OpenAIConfig, presets=PRESETS, summary="OpenAI-compatible omni server (vLLM, SGLang, OpenAI) via chat completions")
def build_openai(config: OpenAIConfig, *, spec: ComponentSpec, api_key: str | None = None, store: Store | None = None, slot=None, **_: Any) -> OmniJudge:
    """OpenAI-compatible judge; `api_key` from the caller (a resolved Prefect Secret) or `config.api_key_env`."""
    host = httpx.URL(config.base_url).host if config.base_url else ""
    if not api_key and host in ("127.0.0.1", "localhost", "::1") and not os.environ.get(config.api_key_env or "_"):
        api_key = "EMPTY"  # a local vLLM/SGLang server started without --api-key accepts any key
    key = resolve_api_key(config, "openai", api_key)
    return OmniJudge("openai", config, spec, OpenAIProvider(config, key), api_key=key, slot=slot, store=store)
