"""PNG charts for the report (matplotlib's object API, no pyplot state): bars, heatmap, contact sheets."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Sequence

import numpy as np
from matplotlib.figure import Figure

from diagnosers.profile import FailureProfile

PALETTE = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c"]


def png_data_uri(fig: Figure, dpi: int = 110) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def group_bars(profiles: Sequence[FailureProfile], grouping: str, title: str) -> str | None:
    """Share of units with any failure per group (Wilson 95 % error bars), one bar per profile."""
    groups = [g.group for g in profiles[0].groupings.get(grouping, [])] if profiles else []
    if not groups:
        return None
    fig = Figure(figsize=(8.5, 3.4))
    ax = fig.subplots()
    width = 0.8 / max(1, len(profiles))
    x = np.arange(len(groups))
    for k, profile in enumerate(profiles):
        rows = {g.group: g for g in profile.groupings[grouping]}
        rates = [rows[g].observed.rate or 0.0 for g in groups]
        low = [max(0.0, r - (rows[g].observed.low or r)) for g, r in zip(groups, rates)]
        high = [max(0.0, (rows[g].observed.high or r) - r) for g, r in zip(groups, rates)]
        ax.bar(x + (k - (len(profiles) - 1) / 2) * width, rates, width, yerr=[low, high], capsize=3,
               color=PALETTE[k % len(PALETTE)], label=f"{profile.label} · {profile.judge}")
    ax.set_xticks(x, [g.replace("_", " ") for g in groups])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("units with a failure")
    ax.set_title(title, fontsize=11)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(axis="y", alpha=0.3)
    return png_data_uri(fig)


def mode_heatmap(profiles: Sequence[FailureProfile]) -> str | None:
    """Mode × version heatmap of observed rates; blank where the judge settled nothing."""
    modes = [m.mode for m in profiles[0].modes if any(p.mode(m.mode).answered for p in profiles)] if profiles else []
    if not modes:
        return None
    data = np.full((len(modes), len(profiles)), np.nan)
    for j, profile in enumerate(profiles):
        for i, mode in enumerate(modes):
            rate = profile.mode(mode).observed.rate
            if rate is not None:
                data[i, j] = rate
    fig = Figure(figsize=(2.2 + 1.3 * len(profiles), 0.8 + 0.22 * len(modes)))
    ax = fig.subplots()
    masked = np.ma.masked_invalid(data)
    image = ax.imshow(masked, aspect="auto", cmap="Reds", vmin=0, vmax=1)
    ax.set_yticks(range(len(modes)), modes, fontsize=7)
    ax.set_xticks(range(len(profiles)), [f"{p.label}\n{p.judge}" for p in profiles], fontsize=8)
    ax.xaxis.tick_top()
    for i in range(len(modes)):
        for j in range(len(profiles)):
            if not np.isnan(data[i, j]):
                ax.text(j, i, f"{data[i, j]:.2f}", ha="center", va="center", fontsize=6.5,
                        color="white" if data[i, j] > 0.6 else "black")
    fig.colorbar(image, ax=ax, fraction=0.04, label="observed rate")
    return png_data_uri(fig)


def grab_frames(video: Path, times: Sequence[float], width: int = 256) -> list[np.ndarray]:
    """RGB frames nearest to each time (seconds), decoded with PyAV and scaled to `width`."""
    import av

    frames: list[np.ndarray] = []
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        base = float(stream.time_base) if stream.time_base else 1 / 25
        for t in times:
            container.seek(max(0, int(max(0.0, t - 0.5) / base)), stream=stream, backward=True)
            chosen = None
            for frame in container.decode(stream):
                chosen = frame
                if frame.time is not None and frame.time >= t:
                    break
            if chosen is None:
                continue
            height = int(round(chosen.height * width / chosen.width / 2) * 2)
            frames.append(chosen.to_ndarray(format="rgb24", width=width, height=height))
    return frames


def contact_sheet(title: str, shots: Sequence[tuple[str, np.ndarray]]) -> str | None:
    """One row of captioned frames at the failure moments."""
    if not shots:
        return None
    fig = Figure(figsize=(2.6 * len(shots), 2.0))
    axes = fig.subplots(1, len(shots), squeeze=False)[0]
    for ax, (caption, frame) in zip(axes, shots):
        ax.imshow(frame)
        ax.set_title(caption, fontsize=7.5)
        ax.axis("off")
    fig.suptitle(title, fontsize=9.5, y=1.02)
    return png_data_uri(fig, dpi=100)
