"""Contact sheets: a grid of frames from a clip with time stamps, and the audio level strip under it."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np


def contact_sheet(video: str | Path, out_png: str | Path, *, columns: int = 4, rows: int = 3, title: str = "",
                  notes: list[tuple[float, float, str]] | None = None, thumb_width: int = 320) -> Path:
    """Write a PNG with `rows x columns` evenly spaced frames of `video`, its waveform, and marked spans.

    `notes` are (start, end, label) spans drawn as one lane each under the waveform (e.g. injected faults).
    """
    with av.open(str(video)) as container:
        vstream = container.streams.video[0]
        frames = [(float(f.time), f.to_ndarray(format="rgb24")) for f in container.decode(vstream)]
    with av.open(str(video)) as container:
        chunks = [f.to_ndarray().mean(axis=0) for f in container.decode(container.streams.audio[0])]
        sr = container.streams.audio[0].rate
    audio = np.concatenate(chunks) if chunks else np.zeros(1)
    duration = frames[-1][0] + 1e-3 if frames else 1.0
    n = columns * rows
    picks = [frames[min(len(frames) - 1, int((i + 0.5) * len(frames) / n))] for i in range(n)]
    h0, w0 = picks[0][1].shape[:2]
    tw, th = thumb_width, int(round(thumb_width * h0 / w0))
    notes = list(notes or [])
    pad, head, strip, lane = 6, 34 if title else 6, 70, 15
    W = columns * tw + (columns + 1) * pad
    H = head + rows * th + (rows + 1) * pad + strip + lane * len(notes) + pad
    sheet = np.full((H, W, 3), 24, np.uint8)
    if title:
        cv2.putText(sheet, title, (pad + 2, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.62, (235, 235, 235), 1, cv2.LINE_AA)
    for i, (t, img) in enumerate(picks):
        r, c = divmod(i, columns)
        x, y = pad + c * (tw + pad), head + pad + r * (th + pad)
        sheet[y:y + th, x:x + tw] = cv2.resize(img, (tw, th), interpolation=cv2.INTER_AREA)
        cv2.rectangle(sheet, (x, y + th - 18), (x + 58, y + th), (0, 0, 0), -1)
        cv2.putText(sheet, f"{t:5.2f}s", (x + 3, y + th - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (255, 255, 255), 1, cv2.LINE_AA)
    # waveform strip (peak envelope per pixel column), then one lane per marked span
    y0, x0, sw = head + pad + rows * (th + pad), pad, W - 2 * pad
    sheet[y0:y0 + strip, x0:x0 + sw] = 40
    cols = np.array_split(np.abs(audio[: int(duration * sr)]), sw)
    peak = max(1e-6, float(np.abs(audio).max()))
    for i, col in enumerate(cols):
        v = float(col.max()) / peak if len(col) else 0.0
        half = int(v * (strip / 2 - 4))
        cv2.line(sheet, (x0 + i, y0 + strip // 2 - half), (x0 + i, y0 + strip // 2 + half), (120, 200, 255), 1)
    for j, (start, end, label) in enumerate(notes):
        ly = y0 + strip + j * lane + 2
        a = int(x0 + sw * start / duration)
        b = max(a + 3, int(x0 + sw * min(end, duration) / duration))
        cv2.rectangle(sheet, (a, ly), (b, ly + lane - 4), (200, 70, 70), -1)
        tx = a + 3 if a + 3 + 8 * len(label) < W else max(pad, a - 8 * len(label))
        cv2.putText(sheet, label, (tx, ly + lane - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (255, 235, 235), 1, cv2.LINE_AA)
    cv2.imwrite(str(out_png), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    return Path(out_png)
