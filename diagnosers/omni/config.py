"""Settings shared by every omni-model judge: model, modality, batching, call policy, pricing, key source."""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict, Field


class Modality(str, Enum):
    """What the judge is shown (the paper's Table 6 ablation): the script and question always."""

    full = "full"
    no_audio = "no_audio"
    no_video = "no_video"
    text_only = "text_only"

    @property
    def video(self) -> bool:
        return self in (Modality.full, Modality.no_audio)

    @property
    def audio(self) -> bool:
        return self in (Modality.full, Modality.no_video)


class OmniConfig(BaseModel):
    """One config object per provider builds on this; operational fields are kept out of the judge's identity.

    Fields marked `exclude=True` (rate, concurrency, retries, timeouts, where the key comes from)
    change how calls are made, not what the model answers, so they stay out of `model_dump()` and
    therefore out of the verdict cache key (`diagnosers.runner.judge_identity`).
    """

    model_config = ConfigDict(extra="forbid")

    model: str = Field(description="model id at the provider")
    base_url: str | None = Field(None, description="API endpoint; None = the provider's public endpoint")
    modality: Modality = Field(Modality.full, description="full, no_audio, no_video or text_only")
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    max_output_tokens: int = Field(4096, ge=64, le=65536)
    seed: int | None = Field(None, description="sampling seed where the provider supports one")
    batch_size: int = Field(12, ge=1, le=200, description="items asked in one request about a clip")

    # operational: how calls are made (not part of the judge identity)
    api_key_env: str = Field("", exclude=True, description="environment variable holding the API key")
    api_key_secret: str | None = Field(
        None, exclude=True, description="name of a Prefect Secret block with the key (resolved by flows/, passed as api_key)"
    )
    global_limit: str | None = Field(
        None, exclude=True,
        description="name of a Prefect global concurrency limit every call occupies (shared by all processes using one key)",
    )
    reply_retries: int = Field(
        1, ge=0, le=5, exclude=True, description="re-asks after a reply that cannot be read (garbage, truncated, refused)"
    )
    rps: float = Field(1.0, gt=0.0, le=1000.0, exclude=True, description="client-side request rate limit (token bucket)")
    burst: int = Field(1, ge=1, le=1000, exclude=True, description="token bucket capacity")
    concurrency: int = Field(4, ge=1, le=64, exclude=True, description="requests in flight at once per judge")
    max_attempts: int = Field(6, ge=1, le=20, exclude=True, description="tries per request on 429, 5xx and timeouts")
    backoff_s: float = Field(1.0, ge=0.0, le=60.0, exclude=True, description="first backoff delay; doubles per attempt")
    backoff_max_s: float = Field(60.0, ge=0.0, le=600.0, exclude=True)
    jitter: float = Field(0.5, ge=0.0, le=1.0, exclude=True, description="random share added to each backoff delay")
    retry_after_max_s: float = Field(
        300.0, ge=0.0, exclude=True, description="a longer retry-after than this is treated as quota exhaustion"
    )
    timeout_s: float = Field(120.0, gt=0.0, le=3600.0, exclude=True, description="per-request timeout")
    price_in_per_mtok: float | None = Field(None, ge=0.0, exclude=True, description="USD per million input tokens (None = table)")
    price_out_per_mtok: float | None = Field(None, ge=0.0, exclude=True, description="USD per million output tokens (None = table)")
