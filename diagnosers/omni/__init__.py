"""Omni-model judges behind APIs: Gemini (google-genai) and OpenAI-compatible servers (vLLM, SGLang, OpenAI).

Adapters register on import (`diagnosers.omni.gemini`, `diagnosers.omni.openai_compat`); the
shared parts are `config` (one settings model per provider), `prompts`, `schema`, `parsing`,
`calls` (rate limit, concurrency, retries), `uploads` (remote handles by content hash), `cost`,
`judge` (batching into verdicts) and `ablation` (the modality table).
"""

from diagnosers.omni.config import Modality, OmniConfig

__all__ = ["Modality", "OmniConfig"]
