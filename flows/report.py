"""The self-contained HTML report: rates, roll-up bars, mode × version heatmap, comparison, contact sheets."""

from __future__ import annotations

import html
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

from diagnosers.compare import Comparison, Direction
from diagnosers.profile import FailureProfile
from flows.charts import contact_sheet, grab_frames, group_bars, mode_heatmap
from flows.results import records_for
from flows.work import ClipRef, DiagnosisRef
from storage import Store
from taxonomy.items import Format
from taxonomy.model import load_taxonomy

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d232a;background:#f6f7f9}
main{max-width:1180px;margin:0 auto;padding:24px 28px 60px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 8px;border-bottom:1px solid #d8dde3;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}.meta{color:#5b6570;font-size:13px}
table{border-collapse:collapse;background:#fff;font-size:12.5px;margin:6px 0 12px}
th,td{border:1px solid #dde2e8;padding:3px 8px;text-align:right}th{background:#eef1f5}td.l,th.l{text-align:left}
tr.regression td{background:#fde2e1}tr.improvement td{background:#e2f5e6}
.pill{display:inline-block;border-radius:10px;padding:1px 8px;font-size:12px;color:#fff}
.bad{background:#c44e52}.good{background:#3f8f55}.flat{background:#8c96a0}
.card{background:#fff;border:1px solid #dde2e8;border-radius:6px;padding:10px 14px;margin:10px 0}
img{max-width:100%}.note{font-size:12.5px;color:#4a545e}
"""


def _fmt(x: float | None, digits: int = 2) -> str:
    return "–" if x is None else f"{x + 0.0:.{digits}f}".replace("-0.00", "0.00")


def _ci(rate: float | None, low: float | None, high: float | None) -> str:
    return "–" if rate is None else f"{rate:.2f} <span class=note>[{low:.2f}, {high:.2f}]</span>"


def _esc(x: Any) -> str:
    return html.escape(str(x))


def _profile_table(profile: FailureProfile) -> str:
    taxonomy = load_taxonomy()
    rows = []
    for m in profile.modes:
        if not m.asked:
            continue
        corrected = "–"
        if m.corrected is not None:
            corrected = f"<b>{_ci(m.corrected.rate, m.corrected.low, m.corrected.high)}</b> <span class=note>Se {m.corrected.sensitivity:.2f} Sp {m.corrected.specificity:.2f}</span>"
        rows.append(
            f"<tr><td class=l title='{_esc(taxonomy.mode(m.mode).definition)}'>{_esc(m.mode)}</td><td>{m.asked}</td><td>{m.answered}</td>"
            f"<td>{m.flagged}</td><td>{_ci(m.observed.rate, m.observed.low, m.observed.high)}</td><td>{_fmt(m.coverage)}</td><td>{corrected}</td></tr>"
        )
    note = ("Corrected rates (Rogan–Gladen, from the judge's measured sensitivity and specificity) are shown for "
            f"{len(profile.corrected_modes)} modes; all other rates are the judge's observed rates."
            if profile.corrected_modes else "No mode has a calibration for this judge: every rate is the judge's observed rate, uncorrected.")
    return (
        f"<h3>{_esc(profile.label)} · judge {_esc(profile.judge)} {_esc(profile.judge_version)}</h3>"
        f"<p class=note>{profile.units} units · verdicts {_esc(profile.verdicts)} · {note}</p>"
        "<table><tr><th class=l>mode</th><th>asked</th><th>answered</th><th>flagged</th><th>rate [95 % CI]</th>"
        "<th>coverage</th><th>corrected rate</th></tr>" + "".join(rows) + "</table>"
    )


def _comparison_table(comparison: Comparison, threshold: float) -> str:
    gate = comparison.gate(threshold)
    verdict = (f"<span class='pill bad'>{len(gate)} regression(s) over the gate ({threshold:.2f})</span>" if gate
               else "<span class='pill good'>no regression over the gate</span>")
    changed, same = [], []
    for m in sorted(comparison.modes, key=lambda r: (r.p_holm if r.p_holm is not None else 2, r.mode)):
        if not m.pairs:
            continue
        rows = changed if m.direction in (Direction.regression, Direction.improvement) else same
        pill = {"regression": "bad", "improvement": "good"}.get(m.direction.value, "flat")
        rows.append(
            f"<tr class={m.direction.value}><td class=l>{_esc(m.mode)}</td><td>{m.pairs}</td><td>{_fmt(m.base_rate)}</td>"
            f"<td>{_fmt(m.candidate_rate)}</td><td>{_fmt(m.difference, 3)} <span class=note>[{_fmt(m.low)}, {_fmt(m.high)}]</span></td>"
            f"<td>{m.base_only}/{m.candidate_only}</td><td>{_fmt(m.p_value, 4)}</td><td>{_fmt(m.p_holm, 4)}</td>"
            f"<td class=l><span class='pill {pill}'>{m.direction.value}</span></td></tr>"
        )
    warnings = "".join(f"<p class=note>⚠ {_esc(w)}</p>" for w in comparison.warnings)
    head = ("<table><tr><th class=l>mode</th><th>pairs</th><th>base</th><th>candidate</th><th>difference [95 % CI]</th>"
            "<th>fixed/new</th><th>p</th><th>p (Holm)</th><th class=l>call</th></tr>")
    tables = (head + "".join(changed) + "</table>") if changed else ""
    if same:
        tables += f"<details><summary>{len(same)} modes without a significant change</summary>{head}{''.join(same)}</table></details>"
    return (
        f"<h3>{_esc(comparison.base)} → {_esc(comparison.candidate)} · judge {_esc(comparison.judge)}</h3><p>{verdict} "
        f"<span class=note>McNemar {comparison.method.value}, paired by unit, Holm across modes at α = {comparison.alpha}; "
        f"{len(comparison.regressions)} regressions, {len(comparison.improvements)} improvements.</span></p>{warnings}{tables}"
    )


def _moments(store: Store, suite_ref: str, diagnoses: Sequence[DiagnosisRef], clip: ClipRef, mode: str) -> list[float]:
    """Times (s) where the judge located the mode on this clip: temporal bins, evidence windows, or the flagged line."""
    ref = next((d for d in diagnoses if d.unit == clip.scene), None)
    if ref is None:
        return []
    times: list[float] = []
    manifest = store.get_json(clip.manifest_key)
    lines = {ln["index"]: ln for ln in manifest.get("lines", [])}
    for item, verdict in records_for(store, suite_ref, [ref]):
        if mode not in item.modes or verdict.status.value != "answered" or verdict.answer is None:
            continue
        ev = verdict.evidence or {}
        if item.format is Format.temporal and verdict.answer.bins:
            times += [(b + 0.5) * item.bin_s for b in verdict.answer.bins]
        elif item.format is Format.yes_no and verdict.answer.is_yes:
            window = ev.get("window") or (ev.get("windows") or [None])[0]
            if isinstance(window, (list, tuple)) and len(window) == 2:
                times.append((float(window[0]) + float(window[1])) / 2)
            elif "line" in item.slot and item.slot["line"] in lines:
                ln = lines[item.slot["line"]]
                times.append((ln["start"] + ln["end"]) / 2)
    duration = clip.duration_s or manifest.get("duration_s") or 0
    times = sorted({round(t, 1) for t in times if 0 <= t <= max(duration, 0.1)})
    if not times and duration:
        times = [duration / 2]
    return times


def _contact_sheets(store: Store, suite_ref: str, profiles: Sequence[FailureProfile], done: dict[str, Any], top: int = 4) -> list[str]:
    clips = done.get("clips_by_generator") or {}
    diagnoses = done.get("diagnoses") or {}
    if not clips or not diagnoses:
        return []
    ranked = sorted(((m.flagged, p, m.mode) for p in profiles for m in p.modes if m.flagged), key=lambda r: (-r[0], r[2]))
    sheets, seen = [], set()
    for _, profile, mode in ranked:
        if len(sheets) >= top or mode in seen:
            continue
        seen.add(mode)
        units = [u for u, flags in profile.flags.items() if flags.get(mode) and not u.startswith("drama:")][:4]
        by_scene = {c.scene: c for c in clips.get(profile.generator, [])}
        shots = []
        for unit in units:
            clip = by_scene.get(unit)
            if clip is None or clip.status.value != "ok":
                continue
            times = _moments(store, suite_ref, diagnoses.get((profile.generator, profile.judge), []), clip, mode)[:1]
            with tempfile.TemporaryDirectory() as tmp:
                video = store.local_path(clip.video_key) if store.is_local else Path(tmp) / "clip.mp4"
                if not store.is_local:
                    video.write_bytes(store.get_bytes(clip.video_key))
                for t, frame in zip(times, grab_frames(video, times)):
                    shots.append((f"{unit} @ {t:.1f}s", frame))
        sheet = contact_sheet(f"{mode} — {profile.label} ({profile.mode(mode).flagged} flagged of {profile.mode(mode).answered})", shots)
        if sheet:
            sheets.append(f"<div class=card><img alt='{_esc(mode)}' src='{sheet}'></div>")
    return sheets


def render_html(
    profiles: Sequence[FailureProfile], comparisons: Sequence[Comparison], *, title: str, threshold: float = 0.0,
    sheets: Sequence[str] = (), meta: str = "",
) -> str:
    """The whole report page as one string (images inline)."""
    profiles = list(profiles)
    charts = []
    for grouping, label in (("dimensions", "Failures by dimension (acting, narrative, atmosphere, audio-visual language, signal)"),
                            ("paper", "Failures by the paper's groups (acting, atmosphere, cinematography)")):
        uri = group_bars(profiles, grouping, label)
        if uri:
            charts.append(f"<div class=card><img alt='{grouping}' src='{uri}'></div>")
    heat = mode_heatmap(profiles)
    summary = "".join(
        f"<tr><td class=l>{_esc(p.label)}</td><td class=l>{_esc(p.judge)}</td><td>{p.units}</td>"
        f"<td>{sum(p.verdicts.values())}</td><td>{p.verdicts.get('answered', 0)}</td><td>{_fmt(_mean_cov(p))}</td>"
        f"<td>{len(p.corrected_modes)}</td></tr>" for p in profiles)
    body = [
        f"<h1>{_esc(title)}</h1><p class=meta>{meta}</p>",
        "<table><tr><th class=l>generator</th><th class=l>judge</th><th>units</th><th>verdicts</th><th>answered</th>"
        f"<th>mean coverage</th><th>corrected modes</th></tr>{summary}</table>",
        "<h2>Comparison</h2>" + ("".join(_comparison_table(c, threshold) for c in comparisons) or "<p class=note>One version only: nothing to compare.</p>"),
        "<h2>Roll-ups</h2>" + "".join(charts),
        "<h2>Mode × version</h2>" + (f"<div class=card><img alt=heatmap src='{heat}'></div>" if heat else "<p class=note>No answered modes.</p>"),
        "<h2>Top failures: frames at the failure moments</h2>" + ("".join(sheets) or "<p class=note>No clip frames available for this report.</p>"),
        "<h2>Failure profiles</h2><p class=note>A unit is one clip (or one drama's chain). Rates are flagged / answered with Wilson 95 % intervals; "
        "coverage is answered / asked (abstained, unparsed and error verdicts are never counted as answers).</p>"
        + "".join(_profile_table(p) for p in profiles),
    ]
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{_esc(title)}</title><style>{CSS}</style></head>"
            f"<body><main>{''.join(body)}</main></body></html>")


def _mean_cov(profile: FailureProfile) -> float | None:
    cov = [m.coverage for m in profile.modes if m.coverage is not None]
    return sum(cov) / len(cov) if cov else None


def write_report(
    store: Store, prefix: str, profiles: Sequence[FailureProfile], comparisons: Sequence[Comparison], clips: Sequence[ClipRef],
    done: dict[str, Any], *, suite_ref: str, title: str, threshold: float = 0.0,
) -> str:
    """Write `<prefix>/report/index.html` (atomically) and return its key."""
    sheets = _contact_sheets(store, suite_ref, profiles, done)
    meta = (f"suite {_esc(suite_ref)} · {len(clips)} clips · taxonomy {_esc(load_taxonomy().version)} · "
            f"written {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    key = f"{prefix}/report/index.html"
    store.put_bytes(key, render_html(profiles, comparisons, title=title, threshold=threshold, sheets=sheets, meta=meta).encode())
    return key
