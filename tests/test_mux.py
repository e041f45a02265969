"""mux_clip writes H.264 + AAC MP4s that decode back to the same timing; probe_clip reports them."""

from __future__ import annotations

import hashlib
from pathlib import Path

import av
import numpy as np
import pytest

from generators.mux import ClipProbeError, MuxError, mux_clip, probe_clip

SR = 16000
W, H = 320, 180


def moving_frames(n: int, width: int = W, height: int = H):
    """Frames whose brightness encodes the frame index (i * 2), so decoded order can be checked."""
    for i in range(n):
        frame = np.full((height, width, 3), (i * 2) % 256, np.uint8)
        frame[:, (i * 3) % 88 : (i * 3) % 88 + 8] = 255  # the bar stays left of x = 96
        yield frame


def tone_between(seconds: float, start: float, end: float) -> np.ndarray:
    audio = np.zeros(int(seconds * SR), np.float32)
    t = np.arange(int((end - start) * SR)) / SR
    audio[int(start * SR) : int(start * SR) + len(t)] = 0.5 * np.sin(2 * np.pi * 440 * t)
    return audio


def decode(path: Path) -> tuple[list[np.ndarray], np.ndarray, int]:
    """All video frames (RGB) and the audio as float mono at its native rate."""
    frames, chunks = [], []
    with av.open(str(path)) as container:
        rate = container.streams.audio[0].codec_context.sample_rate
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="rgb24"))
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            chunks.append(frame.to_ndarray().mean(axis=0))
    return frames, np.concatenate(chunks), rate


def test_round_trip_streams_timing_and_audio_energy(tmp_path):
    fps, seconds = 24, 4.0
    out = mux_clip(moving_frames(int(fps * seconds)), fps, tone_between(seconds, 1.0, 2.0), SR, tmp_path / "clip.mp4",
                   width=W, height=H)  # fmt: skip
    info = probe_clip(out)
    assert (info["video_codec"], info["audio_codec"], info["pix_fmt"]) == ("h264", "aac", "yuv420p")
    assert (info["width"], info["height"], info["fps"], info["n_frames"]) == (W, H, 24.0, 96)
    assert info["sample_rate"] in (44100, 48000) and info["channels"] == 1
    assert abs(info["duration_s"] - seconds) <= 1 / fps
    assert [s["type"] for s in info["streams"]] == ["video", "audio"]

    frames, audio, rate = decode(out)
    assert len(frames) == 96
    levels = [float(f[:, 100:].mean()) for f in frames[::10]]  # away from the moving bar
    np.testing.assert_allclose(levels, [(i * 2) % 256 for i in range(0, 96, 10)], atol=4)
    assert abs(len(audio) / rate - seconds) <= 1 / fps + 1024 / rate

    def energy(a: float, b: float) -> float:
        return float(np.mean(audio[int(a * rate) : int(b * rate)] ** 2))

    assert energy(1.1, 1.9) > 1000 * energy(0.1, 0.9)
    assert energy(1.1, 1.9) > 1000 * energy(2.2, 3.8)
    assert energy(1.1, 1.9) == pytest.approx(0.125, rel=0.15)  # a 0.5 sine survives AAC


def test_output_is_byte_identical_across_runs(tmp_path):
    audio = tone_between(2.0, 0.5, 1.0)
    a = mux_clip(moving_frames(50), 25, audio, SR, tmp_path / "a.mp4", width=W, height=H)
    b = mux_clip(moving_frames(50), 25, audio, SR, tmp_path / "b.mp4", width=W, height=H)
    assert hashlib.sha256(a.read_bytes()).hexdigest() == hashlib.sha256(b.read_bytes()).hexdigest()


@pytest.mark.parametrize("audio_seconds", [1.0, 5.0])
def test_clip_length_follows_the_video(tmp_path, audio_seconds):
    out = mux_clip(moving_frames(60), 30, tone_between(audio_seconds, 0.0, audio_seconds), SR, tmp_path / "c.mp4",
                   width=W, height=H)  # fmt: skip
    info = probe_clip(out)
    assert abs(info["duration_s"] - 2.0) <= 1 / 30
    assert abs(info["audio_duration_s"] - 2.0) <= 0.05


def test_ntsc_rate_and_resized_frames(tmp_path):
    out = mux_clip(moving_frames(30, 200, 100), 29.97, np.zeros(SR, np.float32), SR, tmp_path / "n.mp4", width=W, height=H)
    info = probe_clip(out)
    assert info["fps"] == pytest.approx(29.97, abs=0.01)
    assert (info["width"], info["height"]) == (W, H)


def test_bad_inputs_are_clear_errors(tmp_path):
    with pytest.raises(MuxError, match="must be positive and even"):
        mux_clip(moving_frames(2), 24, np.zeros(100, np.float32), SR, tmp_path / "x.mp4", width=321, height=180)
    with pytest.raises(MuxError, match=r"frame 0 must be \(H, W, 3\) uint8 RGB"):
        mux_clip([np.zeros((H, W), np.uint8)], 24, np.zeros(100, np.float32), SR, tmp_path / "x.mp4", width=W, height=H)
    with pytest.raises(MuxError, match="no frames"):
        mux_clip(iter([]), 24, np.zeros(100, np.float32), SR, tmp_path / "x.mp4", width=W, height=H)
    with pytest.raises(MuxError, match="mono"):
        mux_clip(moving_frames(2), 24, np.zeros((2, 100), np.float32), SR, tmp_path / "x.mp4", width=W, height=H)
    assert not list(tmp_path.iterdir())  # nothing half-written is left behind


def test_probe_rejects_missing_garbage_and_silent_clips(tmp_path):
    with pytest.raises(ClipProbeError, match="no such clip file"):
        probe_clip(tmp_path / "nope.mp4")
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00not a video" * 100)
    with pytest.raises(ClipProbeError, match="not a decodable media file"):
        probe_clip(garbage)
    silent = tmp_path / "video-only.mp4"
    with av.open(str(silent), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for frame in moving_frames(5, 64, 64):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode(None))
    with pytest.raises(ClipProbeError, match="has no audio stream"):
        probe_clip(silent)
