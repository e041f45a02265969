"""Sora through the openai SDK: `videos.create`, `videos.retrieve` until done, `videos.download_content`.

    sora                                  sora-2, 1280x720, 4/8/12 s segments
    sora:pro                              sora-2-pro
    sora?base_url=http://127.0.0.1:8124/v1&poll_interval_s=0.1     (tests: the fake server)

A create call refused by moderation (HTTP 400, code `moderation_blocked`) or a job that ends
`failed` becomes a failed clip with the provider's reason; 429 and 5xx are retried by the SDK
(`max_retries`) and then raised for the next run to retry.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from generators.api.base import ApiConfig, ApiVideoGenerator, PolicyBlocked, PollResult, RequestRejected, api_key
from generators.base import registry
from storage import ComponentSpec, Store

POLICY_CODES = ("moderation_blocked", "content_policy_violation", "safety_violation", "policy_violation")


class SoraConfig(ApiConfig):
    model: str = "sora-2"
    size: str = Field("1280x720", pattern=r"^(720x1280|1280x720|1024x1792|1792x1024)$")
    price_per_second_usd: float = Field(0.10, ge=0.0, exclude=True)
    api_key_env: str = Field("OPENAI_API_KEY", exclude=True)


def _policy_code(code: str | None, message: str) -> bool:
    return (code or "") in POLICY_CODES or "moderation" in message.lower() or "policy" in message.lower()


class SoraProvider:
    """Submit, poll and fetch through the openai client."""

    def __init__(self, config: SoraConfig):
        import openai

        self.config = config
        self.openai = openai
        self.client = openai.OpenAI(api_key=api_key(config, "sora"), base_url=config.base_url,
                                    max_retries=config.max_retries)

    @staticmethod
    def _translate(exc) -> Exception:
        """An HTTP error answer as PolicyBlocked (moderation) or RequestRejected (anything else)."""
        body = exc.body if isinstance(exc.body, dict) else {}
        error = body.get("error", body)
        error = error if isinstance(error, dict) else {}
        code, message = error.get("code"), error.get("message") or str(exc)
        if exc.status_code == 400 and _policy_code(code, message):
            return PolicyBlocked(f"{code}: {message}")
        return RequestRejected(f"HTTP {exc.status_code} {code or ''}: {message}")

    def submit(self, prompt: str, seconds: int, seed: int) -> str:
        # the video API takes no seed: the clip key still carries it, so seeds stay distinct requests
        try:
            video = self.client.videos.create(model=self.config.model, prompt=prompt, seconds=str(seconds),
                                              size=self.config.size)
        except self.openai.APIStatusError as exc:
            raise self._translate(exc) from exc
        return video.id

    def poll(self, job_id: str) -> PollResult:
        try:
            video = self.client.videos.retrieve(job_id)
        except self.openai.APIStatusError as exc:
            raise self._translate(exc) from exc
        if video.status == "failed":
            code = getattr(video.error, "code", None)
            message = getattr(video.error, "message", None) or "no reason given"
            kind = "policy" if _policy_code(code, message) else "error"
            return PollResult(done=True, failure=f"{kind}: {code}: {message}")
        return PollResult(done=video.status == "completed", payload=video)

    def fetch(self, job_id: str, result: PollResult) -> bytes:
        try:
            return self.client.videos.download_content(job_id, variant="video").content
        except self.openai.APIStatusError as exc:
            raise self._translate(exc) from exc


class SoraGenerator(ApiVideoGenerator):
    name = "sora"
    allowed_seconds = (4, 8, 12)

    def make_provider(self) -> SoraProvider:
        return SoraProvider(self.config)


PRESETS = {"default": {}, "pro": {"model": "sora-2-pro", "price_per_second_usd": 0.30}}


@registry.register("sora", SoraConfig, presets=PRESETS)
def build_sora(config: SoraConfig, spec: ComponentSpec, store: Store | None = None, **_context: Any) -> SoraGenerator:
    """OpenAI Sora through the openai SDK's video API (never billed twice)."""
    return SoraGenerator(config, spec, store=store)
