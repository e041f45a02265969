"""Real media the fakes serve and the judge tests send: small MP4s with a moving picture and a tone."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np


def render_test_clip(seconds: float, *, width: int = 160, height: int = 96, fps: float = 24.0, seed: int = 0,
                     tone_hz: float = 330.0, sample_rate: int = 48000) -> bytes:
    """A real MP4 with sound: a moving gradient with a bright bar, and a tone, encoded by mux_clip."""
    from generators.mux import mux_clip

    n = max(1, round(seconds * fps))
    yy, xx = np.mgrid[0:height, 0:width]
    base = np.stack([(xx * 255 // max(1, width - 1)), (yy * 255 // max(1, height - 1)),
                     np.full_like(xx, (seed * 37) % 255)], axis=-1).astype(np.uint8)

    def frames():
        for i in range(n):
            img = base.copy()
            x = int((i / n) * (width - 8))
            img[:, x : x + 8] = 255
            yield img

    t = np.arange(round(n / fps * sample_rate)) / sample_rate
    audio = (0.3 * np.sin(2 * np.pi * tone_hz * t)).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "clip.mp4"
        mux_clip(frames(), fps, audio, sample_rate, out, width=width, height=height)
        return out.read_bytes()


def synthetic_clip(path: str, seconds: float = 2.0, tone_hz: float = 440.0, size: tuple[int, int] = (64, 48), fps: int = 10) -> str:
    """A small real MP4 (H.264 picture that changes every frame + AAC tone) for judge tests."""
    import av

    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = size[0], size[1], "yuv420p"
        audio = container.add_stream("aac", rate=16000)
        audio.layout = "mono"
        for k in range(int(seconds * fps)):
            img = np.zeros((size[1], size[0], 3), np.uint8)
            img[:, : (k * 7) % size[0]] = (200, 80 + k % 100, int(tone_hz) % 255)
            for packet in video.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        t = np.arange(int(seconds * 16000)) / 16000
        samples = (0.3 * np.sin(2 * np.pi * tone_hz * t)).astype(np.float32)
        for i in range(0, len(samples), 1024):
            frame = av.AudioFrame.from_ndarray(samples[None, i : i + 1024], format="flt", layout="mono")
            frame.sample_rate = 16000
            for packet in audio.encode(frame):
                container.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode():
                container.mux(packet)
    return str(path)
