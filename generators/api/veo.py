"""Veo through google-genai: `models.generate_videos` (a long-running operation), `operations.get`, bytes.

    veo                                   veo-3.1-generate-001, 8 s segments, audio on
    veo:fast                              veo-3.1-fast-generate-001
    veo?base_url=http://127.0.0.1:8123/&poll_interval_s=0.1     (tests: the fake server)

The installed SDK serves video generation through the Vertex AI surface only: with an API key
(`GOOGLE_API_KEY`, Vertex express mode) requests go to `v1beta1/publishers/google/models/
{model}:predictLongRunning`, and polling to `...:fetchPredictOperation`; with `project` set, the key
is not used and Application Default Credentials are. Videos come back inline (`bytesBase64Encoded`)
unless an output `gs://` bucket is configured, which this adapter does not use.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from generators.api.base import (
    ApiConfig,
    ApiVideoGenerator,
    GenerationError,
    PolicyBlocked,
    PollResult,
    RequestRejected,
    api_key,
)
from generators.base import registry
from storage import ComponentSpec, Store

POLICY_WORDS = ("policy", "safety", "usage guidelines", "blocked", "responsible ai", "rai")


class VeoConfig(ApiConfig):
    model: str = "veo-3.1-generate-001"
    aspect_ratio: str = Field("16:9", pattern=r"^(16:9|9:16)$")
    resolution: str = Field("720p", pattern=r"^(720p|1080p)$")
    generate_audio: bool = True
    person_generation: str | None = Field(None, description="allow_adult / dont_allow (provider default if unset)")
    price_per_second_usd: float = Field(0.40, ge=0.0, exclude=True)
    api_key_env: str = Field("GOOGLE_API_KEY", exclude=True)
    project: str | None = Field(None, exclude=True, description="Vertex project (ADC auth instead of an API key)")
    location: str = Field("us-central1", exclude=True)


def _is_policy(message: str) -> bool:
    text = message.lower()
    return any(word in text for word in POLICY_WORDS)


class VeoProvider:
    """Submit, poll and fetch through the google-genai client."""

    def __init__(self, config: VeoConfig):
        from google import genai
        from google.genai import errors, types

        self.config = config
        self.types = types
        self.errors = errors
        retry = types.HttpRetryOptions(attempts=config.max_retries + 1, initial_delay=0.2, max_delay=30.0,
                                       http_status_codes=[429, 500, 502, 503, 504])
        http = types.HttpOptions(base_url=config.base_url, retry_options=retry)
        if config.project:
            self.client = genai.Client(vertexai=True, project=config.project, location=config.location, http_options=http)
        else:
            self.client = genai.Client(vertexai=True, api_key=api_key(config, "veo"), http_options=http)

    @staticmethod
    def _translate(exc) -> Exception:
        """An HTTP error answer as PolicyBlocked (usage guidelines) or RequestRejected (anything else)."""
        if exc.code == 400 and _is_policy(exc.message or ""):
            return PolicyBlocked(exc.message)
        return RequestRejected(f"HTTP {exc.code} {exc.status or ''}: {exc.message or ''}".strip())

    def submit(self, prompt: str, seconds: int, seed: int) -> str:
        t = self.types
        config = t.GenerateVideosConfig(
            number_of_videos=1, duration_seconds=seconds, seed=seed % (2**32), negative_prompt=self.config.negative_prompt,
            aspect_ratio=self.config.aspect_ratio, resolution=self.config.resolution,
            generate_audio=self.config.generate_audio, person_generation=self.config.person_generation,
        )
        try:
            operation = self.client.models.generate_videos(
                model=self.config.model, source=t.GenerateVideosSource(prompt=prompt), config=config
            )
        except self.errors.APIError as exc:
            raise self._translate(exc) from exc
        if not operation.name:
            raise GenerationError("veo: the create call returned no operation name")
        return operation.name

    def poll(self, job_id: str) -> PollResult:
        try:
            operation = self.client.operations.get(self.types.GenerateVideosOperation(name=job_id))
        except self.errors.APIError as exc:
            raise self._translate(exc) from exc
        if not operation.done:
            return PollResult(done=False)
        if operation.error:
            error: dict[str, Any] = dict(operation.error)
            message = str(error.get("message", error))
            kind = "policy" if _is_policy(message) else "error"
            return PollResult(done=True, failure=f"{kind}: code {error.get('code')}: {message}")
        result = operation.result or operation.response
        videos = list(getattr(result, "generated_videos", None) or [])
        if not videos:
            reasons = list(getattr(result, "rai_media_filtered_reasons", None) or [])
            count = getattr(result, "rai_media_filtered_count", None)
            if count or reasons:
                return PollResult(done=True, failure=f"policy: {count or len(reasons)} video(s) filtered: {'; '.join(reasons)}")
            return PollResult(done=True, failure="error: the operation finished without a video")
        return PollResult(done=True, payload=videos[0].video)

    def fetch(self, job_id: str, result: PollResult) -> bytes:
        video = result.payload
        if video.video_bytes:
            return bytes(video.video_bytes)
        if video.uri and video.uri.startswith("http"):
            import httpx

            headers = {"x-goog-api-key": api_key(self.config, "veo")} if not self.config.project else {}
            response = httpx.get(video.uri, headers=headers, timeout=120.0, follow_redirects=True)
            if response.status_code != 200:
                raise RequestRejected(f"HTTP {response.status_code} downloading {video.uri}")
            return response.content
        raise GenerationError(f"veo: operation {job_id} returned a video at {video.uri!r}, which this adapter cannot fetch")


class VeoGenerator(ApiVideoGenerator):
    name = "veo"
    allowed_seconds = (4, 6, 8)

    def make_provider(self) -> VeoProvider:
        return VeoProvider(self.config)


PRESETS = {
    "default": {},
    "fast": {"model": "veo-3.1-fast-generate-001", "price_per_second_usd": 0.15},
    "veo3": {"model": "veo-3.0-generate-001"},
}


@registry.register("veo", VeoConfig, presets=PRESETS)
def build_veo(config: VeoConfig, spec: ComponentSpec, store: Store | None = None, **_context: Any) -> VeoGenerator:
    """Google Veo through google-genai (long-running operations, never billed twice)."""
    return VeoGenerator(config, spec, store=store)
