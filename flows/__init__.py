"""Prefect flows and the `mtavg` command line: the only room that imports Prefect.

Flows load lazily (`from flows import audit`), so `mtavg --help` does not pay for Prefect.
"""

from __future__ import annotations

import importlib
from typing import Any

_FLOWS = {
    "audit": "flows.audit",
    "render_suite": "flows.audit",
    "diagnose_clips": "flows.audit",
    "compare_versions": "flows.audit",
    "evaluate_judges": "flows.evaluate",
}


def __getattr__(name: str) -> Any:
    if name in _FLOWS:
        return getattr(importlib.import_module(_FLOWS[name]), name)
    raise AttributeError(f"module 'flows' has no attribute {name!r}")


__all__ = list(_FLOWS)
