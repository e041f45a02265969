"""Gemini judge through google-genai: Files API uploads reused by content hash, structured JSON answers."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Sequence
from typing import Any, Literal

import httpx
from google import genai
from google.genai import errors as genai_errors
from google.genai import types
from pydantic import Field

from diagnosers.base import registry
from diagnosers.omni.calls import CallFailed, CallRunner, QuotaExhausted, Transient
from diagnosers.omni.config import Modality, OmniConfig
from diagnosers.omni.judge import OmniJudge, Reply, resolve_api_key
from diagnosers.omni.media_io import Blob, audio_blob, clip_blob, video_only_blob
from diagnosers.omni.uploads import UploadCache, UploadRecord, parse_expiry
from storage import ComponentSpec, Store

REFUSALS = {"SAFETY", "RECITATION", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "IMAGE_SAFETY", "LANGUAGE", "OTHER"}
RETRYABLE = {408, 500, 502, 503, 504}


class GeminiConfig(OmniConfig):
    """Settings of the Gemini judge (one object; presets pick the model)."""

    model: str = "gemini-3-flash-preview"
    api_key_env: str = Field("GEMINI_API_KEY", exclude=True)
    media_resolution: Literal["unspecified", "low", "medium", "high"] = Field(
        "unspecified", description="tokens per frame the model samples the video at"
    )
    fps: float | None = Field(None, gt=0.0, le=24.0, description="video frames per second the model samples (None = API default, 1)")
    thinking_budget: int | None = Field(None, ge=-1, description="thinking tokens (None = model default, 0 = off)")
    inline_max_bytes: int = Field(
        1_000_000, ge=0, le=20_000_000, exclude=True,
        description="clips up to this size go inline in the request; larger ones through the Files API",
    )
    upload_margin_s: float = Field(600.0, ge=0.0, exclude=True, description="reuse an uploaded file until this long before it expires")
    upload_poll_s: float = Field(1.0, gt=0.0, exclude=True, description="seconds between files.get polls while a file is processing")
    upload_wait_s: float = Field(600.0, gt=0.0, exclude=True, description="give up when a file is not ACTIVE after this long")


PRESETS = {
    "flash": {"model": "gemini-3-flash-preview"},
    "pro": {"model": "gemini-3.1-pro-preview"},
    "flash_lite": {"model": "gemini-3.1-flash-lite-preview"},
    "flash25": {"model": "gemini-2.5-flash"},
}


def _seconds(text: str) -> float | None:
    m = re.fullmatch(r"\s*([0-9.]+)s\s*", text or "")
    return float(m.group(1)) if m else None


def classify(exc: BaseException) -> BaseException:
    """Map a google-genai / httpx exception to Transient, QuotaExhausted or itself (permanent)."""
    if isinstance(exc, (Transient, QuotaExhausted, CallFailed)):
        return exc
    if isinstance(exc, (httpx.TimeoutException, httpx.TransportError)):
        return Transient(f"{type(exc).__name__}: {exc}")
    if isinstance(exc, genai_errors.APIError):
        message = f"{exc.code} {exc.status}: {exc.message}"
        if exc.code == 429:
            retry_after = None
            details = (exc.details or {}).get("error", {}).get("details", []) if isinstance(exc.details, dict) else []
            for detail in details:
                kind = str(detail.get("@type", ""))
                if kind.endswith("QuotaFailure"):
                    for violation in detail.get("violations", []):
                        quota = f"{violation.get('quotaId', '')} {violation.get('quotaMetric', '')}"
                        if "PerDay" in quota or "per_day" in quota.lower():
                            return QuotaExhausted(f"daily quota {violation.get('quotaId')} exhausted: {exc.message}")
                if kind.endswith("RetryInfo"):
                    retry_after = _seconds(detail.get("retryDelay", ""))
            headers = getattr(getattr(exc, "response", None), "headers", None) or {}
            if retry_after is None and headers.get("retry-after"):
                try:
                    retry_after = float(headers["retry-after"])
                except ValueError:
                    retry_after = None
            return Transient(message, retry_after, rate_limited=True)
        if exc.code in RETRYABLE:
            return Transient(message)
    return exc


class GeminiProvider:
    """Turns clips into Gemini parts (inline or uploaded once) and makes one generateContent request."""

    def __init__(self, config: GeminiConfig, api_key: str, store: Store):
        self.config = config
        http = types.HttpOptions(base_url=config.base_url, timeout=int(config.timeout_s * 1000)) if config.base_url else types.HttpOptions(
            timeout=int(config.timeout_s * 1000)
        )
        self.client = genai.Client(api_key=api_key, http_options=http)
        self.uploads = UploadCache(store, "gemini", margin_s=config.upload_margin_s)

    def classify(self, exc: BaseException) -> BaseException:
        return classify(exc)

    def _call(self, fn):
        try:
            return fn()
        except Exception as exc:
            raise classify(exc) from exc

    def _upload(self, blob: Blob, calls: CallRunner) -> UploadRecord:
        """Upload once (resumable protocol), then poll files.get until the file is ACTIVE."""
        file = calls.call(
            lambda: self._call(
                lambda: self.client.files.upload(
                    file=io.BytesIO(blob.data),
                    config=types.UploadFileConfig(mime_type=blob.mime_type, display_name=f"mtavg-{blob.key[:40]}"),
                )
            )
        )[0]
        deadline = time.monotonic() + self.config.upload_wait_s
        while file.state is not None and file.state.name == "PROCESSING":
            if time.monotonic() > deadline:
                raise CallFailed(f"file {file.name} still PROCESSING after {self.config.upload_wait_s:.0f}s", 1)
            time.sleep(self.config.upload_poll_s)
            name = file.name
            file = calls.call(lambda n=name: self._call(lambda: self.client.files.get(name=n)))[0]
        if file.state is not None and file.state.name == "FAILED":
            raise CallFailed(f"file {file.name} failed processing: {file.error}", 1)
        expires = parse_expiry(file.expiration_time) or (time.time() + 47 * 3600)  # files live 48 h
        return UploadRecord(
            provider="gemini", key=blob.key, name=file.name or "", uri=file.uri or "", mime_type=file.mime_type or blob.mime_type,
            size_bytes=len(blob.data), expires_at=expires, uploaded_at=time.time(),
        )

    def _alive(self, record: UploadRecord, calls: CallRunner) -> bool:
        """Whether a handle recorded by another run still exists remotely (deleted files answer 403/404)."""
        try:
            file = calls.call(lambda: self._call(lambda: self.client.files.get(name=record.name)))[0]
        except CallFailed as exc:
            cause = exc.__cause__
            if isinstance(cause, genai_errors.APIError) and cause.code in (403, 404):
                return False
            raise
        return file.state is None or file.state.name == "ACTIVE"

    def _blob(self, clip: Any, modality: Modality) -> Blob:
        if modality is Modality.full:
            return clip_blob(clip)
        if modality is Modality.no_audio:
            return video_only_blob(clip)
        return audio_blob(clip)

    def prepare(self, clips: Sequence[Any], modality: Modality, calls: CallRunner) -> list[Any]:
        parts = []
        for n, clip in enumerate(clips):
            if len(clips) > 1:  # pairs and dramas: tell the model where each clip starts
                parts.append(types.Part(text=f"[clip {n + 1} of {len(clips)}]"))
            blob = self._blob(clip, modality)
            meta = types.VideoMetadata(fps=self.config.fps) if self.config.fps and modality.video else None
            if len(blob.data) <= self.config.inline_max_bytes:
                parts.append(types.Part(inline_data=types.Blob(data=blob.data, mime_type=blob.mime_type), video_metadata=meta))
            else:
                record = self.uploads.get_or_upload(
                    blob.key, lambda b=blob: self._upload(b, calls), lambda r: self._alive(r, calls)
                )
                parts.append(types.Part(file_data=types.FileData(file_uri=record.uri, mime_type=record.mime_type), video_metadata=meta))
        return parts

    def ask(self, parts: list[Any], system: str, prompt: str, schema: dict[str, Any]) -> Reply:
        cfg = self.config
        settings: dict[str, Any] = {
            "system_instruction": system,
            "temperature": cfg.temperature,
            "max_output_tokens": cfg.max_output_tokens,
            "response_mime_type": "application/json",
            "response_json_schema": schema,
        }
        if cfg.seed is not None:
            settings["seed"] = cfg.seed
        if cfg.media_resolution != "unspecified":
            settings["media_resolution"] = f"MEDIA_RESOLUTION_{cfg.media_resolution.upper()}"
        if cfg.thinking_budget is not None:
            settings["thinking_config"] = types.ThinkingConfig(thinking_budget=cfg.thinking_budget)
        contents = [types.Content(role="user", parts=[*parts, types.Part(text=prompt)])]
        try:
            response = self.client.models.generate_content(
                model=cfg.model, contents=contents, config=types.GenerateContentConfig(**settings)
            )
        except genai_errors.APIError as exc:
            if exc.code in (403, 404) and "file" in str(exc.message).lower():
                for part in parts:  # the uploaded handle is gone: forget it so the next run uploads again
                    if part.file_data is not None:
                        self._forget_uri(part.file_data.file_uri)
            raise classify(exc) from exc
        except Exception as exc:
            raise classify(exc) from exc
        return self._reply(response)

    def _forget_uri(self, uri: str | None) -> None:
        store = self.uploads.store
        for key in store.list("uploads/gemini"):
            try:
                if store.get_json(key).get("uri") == uri:
                    store.delete(key)
            except (KeyError, ValueError):
                continue

    @staticmethod
    def _reply(response: types.GenerateContentResponse) -> Reply:
        usage = response.usage_metadata
        tokens_in = (usage.prompt_token_count or 0) if usage else 0
        tokens_out = ((usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0)) if usage else 0
        feedback = response.prompt_feedback
        if feedback is not None and feedback.block_reason is not None:
            reason = f"prompt blocked: {feedback.block_reason.name if hasattr(feedback.block_reason, 'name') else feedback.block_reason}"
            return Reply("", tokens_in, tokens_out, finish="BLOCKED", refusal=reason)
        if not response.candidates:
            return Reply("", tokens_in, tokens_out, finish=None)
        candidate = response.candidates[0]
        finish = candidate.finish_reason.name if candidate.finish_reason is not None and hasattr(candidate.finish_reason, "name") else (
            str(candidate.finish_reason) if candidate.finish_reason else None
        )
        texts = [p.text for p in (candidate.content.parts or []) if p.text and not p.thought] if candidate.content else []
        text = "".join(texts)
        refusal = f"finish reason {finish}" if finish in REFUSALS and not text.strip() else None
        if finish in {"SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "IMAGE_SAFETY"}:
            refusal = f"finish reason {finish}"
        return Reply(text, tokens_in, tokens_out, finish=finish, refusal=refusal)


@registry.register("gemini", GeminiConfig, presets=PRESETS, summary="Gemini omni model through google-genai (Files API, JSON schema)")
def build_gemini(config: GeminiConfig, *, spec: ComponentSpec, api_key: str | None = None, store: Store | None = None, slot=None, **_: Any) -> OmniJudge:
    """Gemini judge; `api_key` from the caller (a resolved Prefect Secret) or `config.api_key_env`."""
    key = resolve_api_key(config, "gemini", api_key)
    provider = GeminiProvider(config, key, store or Store())
    return OmniJudge("gemini", config, spec, provider, api_key=key, slot=slot, store=store)
