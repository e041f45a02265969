"""Flow parameters: pydantic models with descriptions, enums and bounds, so the Prefect UI renders forms."""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from diagnosers.compare import McNemarMethod
from storage import ComponentSpec, SpecError

DEFAULT_GENERATORS = ["procedural:flawed", "procedural:clean"]
DEFAULT_JUDGES = ["probes"]


class Executor(str, Enum):
    process = "process"  # CPU-bound work in a pool of worker processes: uses every core
    thread = "thread"  # in the task threads: no process start-up, one core for Python-bound work


def _specs(values: list[str], kind: str) -> list[str]:
    out = []
    for value in values:
        try:
            out.append(str(ComponentSpec.parse(value)))
        except SpecError as exc:
            raise ValueError(f"{kind} {value!r}: {exc}") from None
    if len(set(out)) != len(out):
        raise ValueError(f"{kind}s repeat: {out}")
    return out


class Common(BaseModel):
    model_config = ConfigDict(extra="forbid")

    suite: str = Field("default", description="bundled suite name (default, mini), a suite folder or file, or composed?n=..&seed=..")
    store: str | None = Field(None, description="artifact store URL (local folder, s3://bucket/prefix); default $MTAVG_STORE or .mtavg/store")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="render seed; the same seed reuses the same clips")
    workers: int = Field(0, ge=0, le=64, description="worker processes for rendering and probes; 0 = one per CPU core")
    executor: Executor = Field(Executor.process, description="where CPU-bound work runs")
    force: bool = Field(False, description="redo renders and verdicts even when the store has them")


class RenderParams(Common):
    generators: list[str] = Field(default_factory=lambda: list(DEFAULT_GENERATORS), min_length=1, max_length=16,
                                  description="generator specs NAME[:PRESET][?k=v]")

    @field_validator("generators")
    @classmethod
    def _check_generators(cls, v: list[str]) -> list[str]:
        return _specs(v, "generator")


class DiagnoseParams(RenderParams):
    judges: list[str] = Field(default_factory=lambda: list(DEFAULT_JUDGES), min_length=1, max_length=8,
                              description="judge specs NAME[:PRESET][?k=v]")
    baseline: str | None = Field(None, description="generator the others are paired against (pairwise items); default the first")
    pairwise: bool = Field(True, description="also ask pairwise items: each generator's clip against the baseline's")
    dramas: bool = Field(True, description="also ask drama-level items over each drama's chain of clips")

    @field_validator("judges")
    @classmethod
    def _check_judges(cls, v: list[str]) -> list[str]:
        return _specs(v, "judge")

    def baseline_spec(self) -> str:
        if self.baseline is None:
            return self.generators[0]
        base = str(ComponentSpec.parse(self.baseline))
        if base not in self.generators:
            raise ValueError(f"baseline {self.baseline!r} is not one of the generators {self.generators}")
        return base


class AuditParams(DiagnoseParams):
    alpha: float = Field(0.05, gt=0, lt=0.5, description="family-wise error rate for regressions (Holm)")
    threshold: float = Field(0.0, ge=0, le=1, description="a regression gates a release when its rate increase exceeds this")
    mcnemar: McNemarMethod = Field(McNemarMethod.exact, description="McNemar test: exact or mid-p")
    report: bool = Field(True, description="write the HTML report")
    run_id: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,80}$", description="name of the run; default a timestamp")


class CompareParams(Common):
    base: str = Field("procedural:flawed", description="base generator spec")
    candidate: str = Field("procedural:clean", description="candidate generator spec")
    base_seed: int | None = Field(None, ge=0, description="seed of the base renders; default `seed`")
    candidate_seed: int | None = Field(None, ge=0, description="seed of the candidate renders; default `seed`")
    judge: str = Field("probes", description="judge spec")
    alpha: float = Field(0.05, gt=0, lt=0.5)
    threshold: float = Field(0.0, ge=0, le=1)
    mcnemar: McNemarMethod = McNemarMethod.exact
    report: bool = True

    @field_validator("base", "candidate", "judge")
    @classmethod
    def _check_spec(cls, v: str) -> str:
        return _specs([v], "component")[0]


class EvaluateParams(Common):
    judges: list[str] = Field(default_factory=lambda: list(DEFAULT_JUDGES), min_length=1, max_length=8)
    generator: str = Field("procedural:sparse", description="labelled generator: injects faults at random and records them")
    clips: int | None = Field(None, ge=1, le=5000, description="labelled clips to use; default enough for ≥ 30 with and without each mode")

    @field_validator("judges")
    @classmethod
    def _check_judges(cls, v: list[str]) -> list[str]:
        return _specs(v, "judge")
