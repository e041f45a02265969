"""Signal probes: measurements of a clip's picture and sound against its scene script.

Each probe (a function registered with `@probe`) covers a few failure modes and returns a
`ModeScore` per mode; `measure_all` runs every probe once per clip (results cached on the
`ClipMedia`), and `load_thresholds` gives the decision thresholds fitted from labelled clips.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from diagnosers.media import ClipMedia
from diagnosers.probes import (  # noqa: F401  (registers the probes)
    camera,
    continuity,
    cues,
    cuts,
    faces,
    focus,
    framing,
    grade,
    listeners,
    picture,
    rigidity,
    soundscape,
    speech,
    staging,
    sync,
    voice,
)
from diagnosers.probes.base import PROBES, FunctionProbe, ModeScore, probe

THRESHOLDS = Path(__file__).with_name("thresholds.json")


def measured_modes() -> list[str]:
    return [m for p in PROBES for m in p.modes]


def measure_all(media: ClipMedia, modes: set[str] | None = None) -> dict[str, ModeScore]:
    """Every probe's scores for a clip (only the probes covering `modes`, when given)."""
    out: dict[str, ModeScore] = {}
    for p in PROBES:
        if modes is not None and not modes.intersection(p.modes):
            continue
        for score in p.measure(media):
            if score.mode in p.modes:  # a probe may return helper scores it does not own
                out[score.mode] = score
    return out


@lru_cache(maxsize=4)
def load_thresholds(path: str | None = None) -> dict[str, dict]:
    """mode id → {"threshold": x, "line_threshold": y, ...} from the fitted thresholds file."""
    data = json.loads(Path(path or THRESHOLDS).read_text(encoding="utf-8"))
    return data["modes"]


__all__ = ["PROBES", "FunctionProbe", "ModeScore", "load_thresholds", "measure_all", "measured_modes", "probe"]
