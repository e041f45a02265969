"""Modality ablation (the paper's Table 6): one judge spec evaluated as full, no_audio, no_video, text_only.

`mtavg judges evaluate --modalities full,no_audio,...` (flows/commands/judges.py) builds one spec
per modality with `ablation_specs`, evaluates each with its usual evaluation function, and prints
`AblationTable.markdown()` or `.as_json()`: macro accuracy, per sub-dimension accuracy and coverage
side by side. Each modality is its own judge identity (the modality is part of the config), so
verdicts and calibrations of different modalities never mix in the store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from diagnosers.base import registry
from diagnosers.omni.config import Modality
from storage import ComponentSpec, SpecError

ALL_MODALITIES = tuple(Modality)


class EvaluationLike(Protocol):
    """What an evaluation report offers (diagnosers.evaluation.Report)."""

    def sub_dimension_accuracy(self) -> dict[str, float | None]: ...

    def macro_accuracy(self) -> float | None: ...

    def coverage(self) -> dict[str, int]: ...


def parse_modalities(text: str | Iterable[str]) -> list[Modality]:
    """`full,no_audio` or a list of names → modalities, with a clear error for an unknown one."""
    names = [n.strip() for n in (text.split(",") if isinstance(text, str) else text) if n.strip()]
    out = []
    for name in names:
        try:
            out.append(Modality(name))
        except ValueError:
            raise SpecError(f"unknown modality {name!r} (known: {', '.join(m.value for m in Modality)})") from None
    if not out:
        raise SpecError("no modality given")
    return out


def with_modality(spec: str | ComponentSpec, modality: Modality | str) -> ComponentSpec:
    """The same judge spec with `modality` set (replacing any modality already in its query)."""
    spec = ComponentSpec.parse(spec) if isinstance(spec, str) else spec
    entry = registry.entry(spec.name)
    if "modality" not in entry.config_model.model_fields:
        raise SpecError(f"judge {spec.name!r} has no modality setting: modality ablation needs an omni judge (gemini, openai)")
    value = Modality(modality).value
    overrides = tuple((k, v) for k, v in spec.overrides if k != "modality") + (("modality", value),)
    return ComponentSpec(spec.name, spec.preset, spec.config_path, overrides)


def ablation_specs(spec: str | ComponentSpec, modalities: Sequence[Modality | str] = ALL_MODALITIES) -> list[ComponentSpec]:
    return [with_modality(spec, m) for m in modalities]


@dataclass
class AblationRow:
    modality: str
    spec: str
    macro_accuracy: float | None
    sub_dimensions: dict[str, float | None]
    coverage: dict[str, int]

    @property
    def answered_share(self) -> float | None:
        asked = self.coverage.get("asked", 0)
        return self.coverage.get("answered", 0) / asked if asked else None


@dataclass
class AblationTable:
    judge: str
    rows: list[AblationRow] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "judge": self.judge,
            "rows": [
                {
                    "modality": r.modality,
                    "spec": r.spec,
                    "macro_accuracy": _pct(r.macro_accuracy),
                    "sub_dimensions": {k: _pct(v) for k, v in r.sub_dimensions.items()},
                    "coverage": r.coverage,
                }
                for r in self.rows
            ],
        }

    def markdown(self) -> str:
        """Modalities as rows, macro accuracy then each sub-dimension, accuracy in %, plus coverage."""
        codes = sorted({c for r in self.rows for c in r.sub_dimensions})
        head = ["modality", "macro %", *codes, "answered/asked"]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in self.rows:
            cells = [r.modality, _fmt(r.macro_accuracy), *(_fmt(r.sub_dimensions.get(c)) for c in codes)]
            cells.append(f"{r.coverage.get('answered', 0)}/{r.coverage.get('asked', 0)}")
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)


def _pct(x: float | None) -> float | None:
    return None if x is None else round(100.0 * x, 2)


def _fmt(x: float | None) -> str:
    return "–" if x is None else f"{100.0 * x:.1f}"


def run_ablation(
    spec: str | ComponentSpec,
    evaluate: Callable[[ComponentSpec], EvaluationLike],
    modalities: Sequence[Modality | str] = ALL_MODALITIES,
) -> AblationTable:
    """Evaluate the judge once per modality with the caller's evaluation function; one row each."""
    base = ComponentSpec.parse(spec) if isinstance(spec, str) else spec
    table = AblationTable(judge=base.label)
    for one in ablation_specs(base, modalities):
        report = evaluate(one)
        table.rows.append(
            AblationRow(
                modality=dict(one.overrides)["modality"],
                spec=str(one),
                macro_accuracy=report.macro_accuracy(),
                sub_dimensions=dict(report.sub_dimension_accuracy()),
                coverage=dict(report.coverage()),
            )
        )
    return table
