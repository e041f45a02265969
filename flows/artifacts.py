"""Prefect artifacts for a run: markdown summaries and tables keyed per generator, so the UI keeps history."""

from __future__ import annotations

import re
from typing import Any, Sequence

from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

from diagnosers.compare import Comparison
from diagnosers.profile import FailureProfile, profile_rows


def artifact_key(*parts: str) -> str:
    """Prefect artifact keys allow lowercase letters, digits and dashes only."""
    key = re.sub(r"[^a-z0-9-]+", "-", "-".join(parts).lower()).strip("-")
    return re.sub(r"-{2,}", "-", key)[:100]


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.0f} %"


def profile_markdown(profile: FailureProfile, top: int = 12) -> str:
    flagged = sorted((m for m in profile.modes if m.answered), key=lambda m: -(m.observed.rate or 0))[:top]
    lines = [
        f"# `{profile.label}` · judge `{profile.judge}`",
        f"{profile.units} units, verdicts {profile.verdicts}. "
        + (f"Corrected (Rogan–Gladen) rates for: {', '.join(profile.corrected_modes)}." if profile.corrected_modes
           else "All rates observed (no calibration for this judge)."),
        "",
        "| group | units with a failure | 95 % CI |",
        "|---|---|---|",
    ]
    for g in profile.groupings.get("dimensions", []):
        lines.append(f"| {g.group} | {_pct(g.observed.rate)} ({g.flagged}/{g.answered}) | {_pct(g.observed.low)}–{_pct(g.observed.high)} |")
    lines += ["", "| top modes | rate | 95 % CI | coverage | corrected |", "|---|---|---|---|---|"]
    for m in flagged:
        corr = _pct(m.corrected.rate) if m.corrected else "–"
        lines.append(f"| `{m.mode}` | {_pct(m.observed.rate)} | {_pct(m.observed.low)}–{_pct(m.observed.high)} | {_pct(m.coverage)} | {corr} |")
    return "\n".join(lines)


def comparison_markdown(comparison: Comparison) -> str:
    lines = [f"# `{comparison.base}` → `{comparison.candidate}` · judge `{comparison.judge}`",
             f"**{len(comparison.regressions)} regressions**, {len(comparison.improvements)} improvements "
             f"(McNemar {comparison.method.value}, Holm, α = {comparison.alpha}).", ""]
    changed = [m for m in comparison.modes if m.direction.value in ("regression", "improvement")]
    if changed:
        lines += ["| mode | call | base | candidate | difference [95 % CI] | p (Holm) |", "|---|---|---|---|---|---|"]
        for m in changed:
            lines.append(f"| `{m.mode}` | {m.direction.value} | {_pct(m.base_rate)} | {_pct(m.candidate_rate)} | "
                         f"{m.difference:+.2f} [{m.low:+.2f}, {m.high:+.2f}] | {m.p_holm:.3g} |")
    lines += [f"> {w}" for w in comparison.warnings]
    return "\n".join(lines)


def publish_artifacts(profiles: Sequence[FailureProfile], comparisons: Sequence[Comparison], report_url: str | None,
                      run_id: str, manifest: dict[str, Any] | None) -> None:
    """Markdown + table per profile (keyed by generator and judge), markdown per comparison, a link to the report."""
    for p in profiles:
        base = artifact_key("profile", p.generator, p.judge)
        create_markdown_artifact(profile_markdown(p), key=base, description=f"failure profile, run {run_id}")
        rows = [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()} for r in profile_rows(p)]
        create_table_artifact(rows, key=artifact_key("modes", p.generator, p.judge), description=f"per-mode rates, run {run_id}")
    for c in comparisons:
        # keyed by generator spec without its version, so the UI shows one history per pair of generators
        create_markdown_artifact(comparison_markdown(c), key=artifact_key("comparison", c.base.split("@")[0], c.candidate.split("@")[0]),
                                 description=f"version comparison, run {run_id}")
    if report_url:
        link = report_url if "://" in report_url else f"file://{report_url}"
        create_link_artifact(link, link_text=f"HTML report {run_id}", key="audit-report", description="self-contained HTML report")
    if manifest:
        counts = manifest.get("counts", {})
        create_markdown_artifact(
            f"# run {run_id}\n\n- suite `{manifest['suite']['ref']}` ({manifest['suite']['hash'][:12]})\n"
            f"- code {manifest['code_version']}, taxonomy {manifest['taxonomy_version']}\n- counts: {counts}\n"
            f"- timings: { {k: round(v, 1) for k, v in manifest['timings'].items()} }",
            key="audit-run", description="run manifest summary")
