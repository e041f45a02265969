"""The procedural generator: drawn multi-character scenes with espeak voices and injected, recorded faults.

Registered as `procedural` with presets `clean`, `flawed` and `random` (see `config.py`).
"""

from generators.base import registry
from generators.procedural.config import PRESETS, VERSION, ProceduralConfig
from generators.procedural.faults import (
    BY_NAME,
    CATALOGUE,
    CONTROLLED_MODES,
    FAULT_NAMES,
    FaultType,
)
from generators.procedural.render import ProceduralGenerator


@registry.register("procedural", ProceduralConfig, presets=PRESETS, summary="offline drawn scenes with fault injection")
def build_procedural(config: ProceduralConfig, spec=None, **_context) -> ProceduralGenerator:
    """Offline drawn scenes with espeak voices and recorded fault injection."""
    return ProceduralGenerator(config, spec=spec)


__all__ = [
    "BY_NAME",
    "CATALOGUE",
    "CONTROLLED_MODES",
    "FAULT_NAMES",
    "PRESETS",
    "VERSION",
    "FaultType",
    "ProceduralConfig",
    "ProceduralGenerator",
    "build_procedural",
]
