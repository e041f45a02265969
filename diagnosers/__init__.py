"""Judges: protocol and registry, media decoding, probes, API judges, baselines, calibration, profiles."""

from diagnosers.base import Judge, Verdict, VerdictStatus, build_judge, registry

registry.lazy_modules({
    "probes": "diagnosers.probe_judge",
    "random": "diagnosers.baselines",
    "majority": "diagnosers.baselines",
    "blind": "diagnosers.baselines",
    "gemini": "diagnosers.omni.gemini",
    "openai": "diagnosers.omni.openai_compat",
    "ensemble": "diagnosers.ensemble",
})

__all__ = ["Judge", "Verdict", "VerdictStatus", "build_judge", "registry"]
