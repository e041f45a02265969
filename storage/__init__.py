"""Artifact store over fsspec, content keys, key layout, and component specs. Knows nothing else."""

from storage.keys import (
    calibration_key,
    canonical,
    clip_prefix,
    content_key,
    run_prefix,
    safe_segment,
    sha256_file,
    upload_key,
    verdict_batch_key,
)
from storage.spec import ComponentSpec, Registry, SpecError
from storage.store import Store, UnsafeKeyError, check_key, default_store_url, mtavg_home

__all__ = [
    "ComponentSpec", "Registry", "SpecError", "Store", "UnsafeKeyError", "calibration_key", "canonical",
    "check_key", "clip_prefix", "content_key", "default_store_url", "mtavg_home", "run_prefix", "safe_segment",
    "sha256_file", "upload_key", "verdict_batch_key",
]
