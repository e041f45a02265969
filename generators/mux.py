"""Write rendered frames and a mono mix into an MP4 (H.264 yuv420p + AAC) with PyAV, and probe clips.

`mux_clip` pulls frames from an iterator and interleaves audio as it goes, so a clip is never held
in memory twice. The clip lasts exactly `n_frames / fps`: the audio is padded with silence or cut
to that length. Output is deterministic for the same input (fixed encoder settings, no timestamps
or creation time in the container metadata).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from generators.audio.dsp import resample

AUDIO_RATE = 48000
AAC_FRAME = 1024
AUDIO_BITRATE = 128_000


class MuxError(RuntimeError):
    """Frames or audio could not be encoded into a clip."""


class ClipProbeError(ValueError):
    """A clip file is missing, undecodable, or lacks a video or an audio stream."""


def _rate(fps: float) -> Fraction:
    """fps as an exact fraction: 24 -> 24/1, 29.97 -> 30000/1001."""
    if fps <= 0:
        raise MuxError(f"fps must be positive, got {fps}")
    for den in (1, 1001):
        num = round(fps * den)
        if abs(num / den - fps) < 1e-6 or (den == 1001 and abs(num / den - fps) < 1e-3):
            return Fraction(num, den)
    return Fraction(fps).limit_denominator(1001)


def _audio_frames(audio: np.ndarray, start: int, end: int):
    for offset in range(start, end, AAC_FRAME):
        chunk = audio[offset : min(end, offset + AAC_FRAME)]
        frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="fltp", layout="mono")
        frame.sample_rate = AUDIO_RATE
        frame.pts = offset
        yield frame


def mux_clip(
    frames: Iterable[np.ndarray],
    fps: float,
    audio: np.ndarray,
    sample_rate: int,
    out_path: Path,
    *,
    width: int,
    height: int,
    crf: int = 23,
    preset: str = "veryfast",
    threads: int = 0,
) -> Path:
    """Encode RGB uint8 frames (H, W, 3) and mono float audio into an MP4 at `out_path`; returns it."""
    out_path = Path(out_path)
    if width % 2 or height % 2 or width <= 0 or height <= 0:
        raise MuxError(f"{out_path}: width and height must be positive and even for yuv420p, got {width}x{height}")
    rate = _rate(fps)
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 1:
        raise MuxError(f"{out_path}: audio must be mono (1-D), got shape {audio.shape}")
    if not np.all(np.isfinite(audio)):
        raise MuxError(f"{out_path}: audio contains NaN or infinite samples")
    audio48 = np.clip(resample(audio, sample_rate, AUDIO_RATE), -1.0, 1.0)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.{os.getpid()}.tmp.mp4")
    try:
        n_frames = _encode(frames, rate, audio48, tmp, width, height, crf, preset, threads)
        if n_frames == 0:
            raise MuxError(f"{out_path}: no frames to encode")
        tmp.replace(out_path)
    finally:
        tmp.unlink(missing_ok=True)
    return out_path


def _encode(frames, rate: Fraction, audio48: np.ndarray, path: Path, width: int, height: int, crf: int, preset: str, threads: int) -> int:
    # bitexact keeps the encoder version string out of the file, so output is byte-identical across runs
    with av.open(str(path), mode="w", format="mp4", options={"fflags": "+bitexact"}) as container:
        video = container.add_stream("libx264", rate=rate)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.codec_context.time_base = 1 / rate
        video.options = {
            "crf": str(int(crf)),
            "preset": preset,
            "g": str(max(1, round(float(rate) * 2))),
            # macroblock-tree rate control made flat, synthetic pictures encode differently from run
            # to run (seen with PyAV's bundled x264); without it output is byte-identical (decision 031)
            "x264-params": "mbtree=0",
        }
        video.codec_context.thread_count = threads
        video.codec_context.thread_type = "FRAME"
        sound = container.add_stream("aac", rate=AUDIO_RATE, layout="mono")
        sound.bit_rate = AUDIO_BITRATE
        sound.codec_context.time_base = Fraction(1, AUDIO_RATE)
        audio_done = 0
        n = 0
        for n, rgb in enumerate(frames, start=1):
            array = np.asarray(rgb)
            if array.ndim != 3 or array.shape[2] != 3 or array.dtype != np.uint8:
                raise MuxError(f"{path.name}: frame {n - 1} must be (H, W, 3) uint8 RGB, got {array.shape} {array.dtype}")
            frame = _yuv_frame(array, width, height)
            frame.pts = n - 1
            container.mux(video.encode(frame))
            # interleave: audio up to the end of this frame
            until = int(round(n / rate * AUDIO_RATE))
            padded = _audio_span(audio48, audio_done, until)
            for aframe in _audio_frames(padded, 0, len(padded) - len(padded) % AAC_FRAME):
                aframe.pts += audio_done
                container.mux(sound.encode(aframe))
            audio_done += len(padded) - len(padded) % AAC_FRAME
        if n:
            total = int(round(n / rate * AUDIO_RATE))
            tail = _audio_span(audio48, audio_done, total)
            for aframe in _audio_frames(tail, 0, len(tail)):
                aframe.pts += audio_done
                container.mux(sound.encode(aframe))
        container.mux(video.encode(None))
        container.mux(sound.encode(None))
    return n


def _yuv_frame(rgb: np.ndarray, width: int, height: int) -> av.VideoFrame:
    """RGB uint8 -> yuv420p frame at the output size (BT.601 limited range, what decoders assume).

    OpenCV's converter is ~6x faster than swscale's here and the conversion dominated muxing.
    """
    import cv2

    if rgb.shape[0] != height or rgb.shape[1] != width:
        rgb = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
    return av.VideoFrame.from_ndarray(cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2YUV_I420), format="yuv420p")


def _audio_span(audio: np.ndarray, start: int, end: int) -> np.ndarray:
    """audio[start:end], padded with silence past the end of the track."""
    if end <= start:
        return np.zeros(0, dtype=np.float32)
    span = audio[start:end]
    if len(span) < end - start:
        span = np.concatenate([span, np.zeros(end - start - len(span), dtype=np.float32)])
    return span


def probe_clip(path: str | Path) -> dict[str, Any]:
    """Streams, duration, fps, size and sample rate of a clip; raises ClipProbeError if unusable.

    Flat keys for the common questions (`duration_s`, `fps`, `width`, `height`, `n_frames`,
    `sample_rate`, `channels`, codecs) plus `streams`, one dict per stream used.
    """
    path = Path(path)
    if not path.exists():
        raise ClipProbeError(f"{path}: no such clip file")
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError) as exc:
        raise ClipProbeError(f"{path}: not a decodable media file ({exc})") from None
    with container:
        if not container.streams.video:
            raise ClipProbeError(f"{path}: has no video stream")
        if not container.streams.audio:
            raise ClipProbeError(f"{path}: has no audio stream")
        v = container.streams.video[0]
        a = container.streams.audio[0]
        fps = float(v.average_rate or v.guessed_rate or 0)
        duration = float(container.duration / av.time_base) if container.duration else None

        def seconds(stream) -> float | None:
            return float(stream.duration * stream.time_base) if stream.duration and stream.time_base else None

        try:
            next(container.decode(video=0))
        except (av.FFmpegError, StopIteration) as exc:
            raise ClipProbeError(f"{path}: video stream cannot be decoded ({exc or 'no frames'})") from None
        video_seconds, audio_seconds = seconds(v), seconds(a)
        n_frames = int(v.frames) if v.frames else None
        if duration is None:
            duration = video_seconds or (n_frames / fps if n_frames and fps else None)
        if duration is None:
            raise ClipProbeError(f"{path}: duration is unknown (broken container?)")
        video_info = {"type": "video", "codec": v.codec_context.name, "width": v.codec_context.width,
                      "height": v.codec_context.height, "pix_fmt": v.codec_context.pix_fmt, "fps": fps,
                      "frames": n_frames, "duration_s": video_seconds}  # fmt: skip
        audio_info = {"type": "audio", "codec": a.codec_context.name, "sample_rate": a.codec_context.sample_rate,
                      "channels": a.codec_context.channels, "duration_s": audio_seconds}  # fmt: skip
        return {
            "path": str(path),
            "format": container.format.name,
            "size_bytes": path.stat().st_size,
            "duration_s": duration,
            "fps": fps,
            "width": video_info["width"],
            "height": video_info["height"],
            "n_frames": n_frames,
            "video_codec": video_info["codec"],
            "pix_fmt": video_info["pix_fmt"],
            "sample_rate": audio_info["sample_rate"],
            "channels": audio_info["channels"],
            "audio_codec": audio_info["codec"],
            "video_duration_s": video_seconds,
            "audio_duration_s": audio_seconds,
            "streams": [video_info, audio_info],
        }
