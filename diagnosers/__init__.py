"""Judges: protocol and registry, media decoding, probes, API judges, baselines, calibration, profiles."""

import importlib

from diagnosers.base import Judge, Verdict, VerdictStatus, build_judge, registry

_JUDGES = {
    "probes": "diagnosers.probe_judge",
    "random": "diagnosers.baselines",
    "majority": "diagnosers.baselines",
    "blind": "diagnosers.baselines",
    "gemini": "diagnosers.omni.gemini",
    "openai": "diagnosers.omni.openai_compat",
    "ensemble": "diagnosers.ensemble",
}
for _name, _module in _JUDGES.items():
    registry.lazy(_name, lambda m=_module: importlib.import_module(m))

__all__ = ["Judge", "Verdict", "VerdictStatus", "build_judge", "registry"]
