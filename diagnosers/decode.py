"""PyAV decoding for `ClipMedia`: the picture sampled at a rate and size (plus a finer luma), the sound as
16 kHz mono. Plain functions over a file path; `ClipMedia` (media.py) decides when to call them and
keeps what they return.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

SAMPLE_RATE = 16000
# FFmpeg's decoder threads for the picture: one per core (its default is cores + 1). On 2 cores, with every
# other packet skipped, 2 threads decoded 6 mini clips 5-15 % faster than 3 or 4 (best of 5, interleaved;
# decision 223); the frames do not depend on the thread count.
DECODE_THREADS = os.cpu_count() or 1


class MediaError(ValueError):
    """A clip that cannot be decoded (missing file, no video stream, corrupt container)."""


@dataclass
class DecodedPicture:
    """The sampled picture of one clip: frame i is the one shown at i / fps."""

    frames: np.ndarray  # (N, H, W, 3) uint8 RGB at the asked size
    luma: np.ndarray | None  # (N, h, w) uint8: the source's own luma, shrunk to the asked width; None: not asked
    frame_times: np.ndarray  # seconds, i / fps
    source_fps: float | None  # the container's own rate
    frame_span: float  # seconds the picture lasts (its last frame held one source frame)
    frames_decoded: int  # frames the decoder actually produced (the skipped ones not counted)


def open_container(path: Path) -> Any:
    """The PyAV container of a clip with a video stream, or a `MediaError` naming the file."""
    import av

    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise MediaError(f"clip {path}: cannot open: {exc}") from None
    if not container.streams.video:
        container.close()
        raise MediaError(f"clip {path}: no video stream")
    return container


def decode_picture(path: Path, fps: float, size: tuple[int, int], luma_width: int | None,
                   skip_unused: bool = True) -> DecodedPicture:
    """One pass over the video stream: keep the first frame of each 1/fps slot.

    A constant-rate source faster than `fps` holds frames that the sampling drops (the second of
    each pair at 25 fps): those that no other frame refers to (an H.264 stream's non-reference B
    frames) need not be decoded at all. The pass sets the decoder's `skip_frame` per packet: NONREF
    for a packet whose frame is not the first of its slot, DEFAULT for the rest, so the kept frames
    are exactly a full decode's. Should a slot still go without its own frame (a stream whose
    timing the packets misstate), the clip is decoded again in full (decision 170). `skip_unused=False`
    decodes every frame.
    """
    picture = _decode_pass(path, fps, size, luma_width, skip_nonref=True) if skip_unused else None
    if picture is None:
        picture = _decode_pass(path, fps, size, luma_width, skip_nonref=False)
    assert picture is not None
    return picture


def decode_sound(path: Path) -> np.ndarray | None:
    """One pass over the audio stream, resampled to 16 kHz mono float32; None when there is no audio stream."""
    import av

    container = open_container(path)
    try:
        astream = container.streams.audio[0] if container.streams.audio else None
        if astream is None:
            return None
        chunks: list[np.ndarray] = []
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        try:
            for packet in container.demux(astream):
                for frame in packet.decode():
                    chunks.extend(_samples(out) for out in resampler.resample(frame))
            chunks.extend(_samples(out) for out in resampler.resample(None))
        except av.error.FFmpegError:
            pass  # a truncated tail still leaves usable sound: keep what decoded
    finally:
        container.close()
    return np.concatenate(chunks).astype(np.float32, copy=False) if chunks else np.zeros(0, np.float32)


def _decode_pass(path: Path, fps: float, size: tuple[int, int], luma_width: int | None,
                 skip_nonref: bool) -> DecodedPicture | None:
    """Decode the picture. With `skip_nonref`, non-reference frames that
    are not the first of their slot are skipped where the source is a constant rate faster than
    `fps`, and the pass gives up (None) at the first slot that only a skipped frame could have filled."""
    import av

    container = open_container(path)
    try:
        vstream = container.streams.video[0]
        vstream.thread_type = "AUTO"
        vstream.codec_context.thread_count = DECODE_THREADS
        source_period = _constant_period(vstream)
        if skip_nonref and not (source_period and source_period < 0.95 / fps):
            skip_nonref = False
        codec = vstream.codec_context
        width, height = size
        # frames go straight into one array (grown if the container's duration undersold it)
        length = container.duration / 1e6 if container.duration else 0.0
        buffer = np.empty((math.ceil(length * fps) + 2, height, width, 3), np.uint8)
        luma_size = _luma_size(vstream.codec_context.width, vstream.codec_context.height, luma_width)
        luma = np.empty((len(buffer), luma_size[1], luma_size[0]), np.uint8) if luma_size else None
        count = 0
        next_slot = 0
        last_video_t = 0.0
        last_packet_t = 0.0
        first_pt: float | None = None
        decoded = 0
        vbase = float(vstream.time_base) if vstream.time_base else None
        t0: float | None = None
        try:
            for packet in container.demux(vstream):
                if skip_nonref and (packet.pts is None or not vbase):
                    codec.skip_frame = "DEFAULT"
                elif skip_nonref:
                    pt = packet.pts * vbase
                    first_pt = pt if first_pt is None else first_pt
                    last_packet_t = max(last_packet_t, pt)
                    since_slot = (pt - first_pt) - math.floor((pt - first_pt) * fps + 1e-6) / fps
                    codec.skip_frame = "DEFAULT" if since_slot < source_period - 1e-4 else "NONREF"
                for frame in packet.decode():
                    decoded += 1
                    t = _frame_time(frame, vbase)
                    if t0 is None:
                        t0 = t
                    t -= t0  # clips trimmed without re-timing start at a non-zero pts
                    last_video_t = max(last_video_t, t)
                    slot = int(math.floor(t * fps + 1e-6))
                    if slot < next_slot:
                        continue
                    if skip_nonref and slot > next_slot:
                        return None  # a skipped frame was the only one for a slot
                    if slot >= len(buffer):
                        buffer = _grown(buffer, slot + 1)
                        luma = _grown(luma, len(buffer)) if luma is not None else None
                    if luma is not None:
                        luma[next_slot] = _to_luma(frame, *luma_size)
                        luma[next_slot + 1: slot + 1] = luma[next_slot]
                    buffer[next_slot] = to_rgb(frame, width, height, luma[next_slot] if luma is not None else None)
                    # Fill skipped slots (source slower than `fps`) with the same picture so
                    # frame i always sits at i/fps.
                    buffer[next_slot + 1: slot + 1] = buffer[next_slot]
                    next_slot = count = slot + 1
        except av.error.FFmpegError as exc:
            if not count:
                raise MediaError(f"clip {path}: cannot decode: {exc}") from None
            # A truncated tail still leaves usable media: keep what decoded.
        if not count:
            if skip_nonref:
                return None
            raise MediaError(f"clip {path}: the video stream has no frames")
        rate = vstream.average_rate or vstream.guessed_rate
        source_fps = float(rate) if rate else None
        if skip_nonref and t0 is not None:
            # the picture lasts until its last frame, decoded or skipped (a stream may end on a B frame)
            last_video_t = max(last_video_t, last_packet_t - t0)
    finally:
        container.close()
    frame_span = last_video_t + (1.0 / source_fps if source_fps else 1.0 / fps)
    while next_slot / fps < frame_span - 1e-6:  # the last source frame holds until its end
        next_slot += 1
    if skip_nonref and next_slot - count > 2:
        return None  # more than the last couple of slots would repeat a frame they did not show
    if next_slot > len(buffer):
        buffer = _grown(buffer, next_slot)
        luma = _grown(luma, len(buffer)) if luma is not None else None
    buffer[count:next_slot] = buffer[count - 1]
    if luma is not None:
        luma[count:next_slot] = luma[count - 1]
        luma = luma[:next_slot].copy() if len(luma) > 1.25 * next_slot + 4 else luma[:next_slot]
    # a view of the first frames (contiguous); copied only when the estimate left much unused
    frames = buffer[:next_slot].copy() if len(buffer) > 1.25 * next_slot + 4 else buffer[:next_slot]
    return DecodedPicture(frames=frames, luma=luma, frame_times=np.arange(next_slot, dtype=np.float64) / fps,
                          source_fps=source_fps, frame_span=frame_span, frames_decoded=decoded)


# BT.601 limited-range YUV -> RGB (the coefficients of OpenCV's COLOR_YUV2RGB_I420), as a 3x4 affine map
_YUV_TO_RGB = np.array([[1.164, 0.0, 1.596], [1.164, -0.391, -0.813], [1.164, 2.018, 0.0]], np.float32)
_YUV_TO_RGB = np.concatenate([_YUV_TO_RGB, -(_YUV_TO_RGB @ np.float32([16, 128, 128]))[:, None]], axis=1)


def _plane(plane: Any) -> np.ndarray:
    """A view (no copy) of one picture plane of a decoded frame, without its row padding."""
    return np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)[:, : plane.width]


def to_rgb(frame: Any, width: int, height: int, luma: np.ndarray | None = None) -> np.ndarray:
    """An RGB array of the frame at (width, height).

    For the usual yuv420p stream shrunk to at most its chroma size (640x360 -> 320x180), the luma
    plane is area-averaged to the output size and converted with the chroma planes, which already
    have (or are area-averaged to) that size: about 10x cheaper than converting every full-size
    pixel and shrinking the RGB picture, and the same values up to rounding (decision 101). Other
    pixel formats and sizes go through OpenCV's full conversion or swscale.

    `luma`, the frame's luma plane already shrunk to a whole multiple of (width, height) (the detail
    luma of a 720p or 1080p source), is shrunk on instead of the full plane: the same area average up
    to rounding, at a third of the cost on 1080p (decision 223). At the source's own size it is the
    plane itself, so nothing changes there.
    """
    import cv2

    if frame.format.name == "yuv420p" and frame.width % 2 == 0 and frame.height % 2 == 0:
        if width <= frame.width // 2 and height <= frame.height // 2:
            y, u, v = (_plane(p) for p in frame.planes[:3])
            size = (width, height)
            if luma is not None and _whole_multiple(luma.shape, (height, width)):
                y = luma
            y = cv2.resize(y, size, interpolation=cv2.INTER_AREA)
            if u.shape != (height, width):
                u = cv2.resize(u, size, interpolation=cv2.INTER_AREA)
                v = cv2.resize(v, size, interpolation=cv2.INTER_AREA)
            return cv2.transform(cv2.merge([y, u, v]), _YUV_TO_RGB)
        rgb = cv2.cvtColor(frame.to_ndarray(), cv2.COLOR_YUV2RGB_I420)
        if rgb.shape[1] != width or rgb.shape[0] != height:
            rgb = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
        return rgb
    return frame.to_ndarray(format="rgb24", width=width, height=height, interpolation="FAST_BILINEAR")


def _whole_multiple(shape: tuple[int, ...], of: tuple[int, int]) -> bool:
    """Whether a (h, w) plane is a whole multiple of (h, w) in both directions (an exact area average)."""
    return shape[0] % of[0] == 0 and shape[1] % of[1] == 0 and shape[0] // of[0] == shape[1] // of[1]


def _constant_period(stream: Any) -> float | None:
    """Seconds between frames of a constant-rate video stream; None when the rate is unknown or varies."""
    avg, base = stream.average_rate, stream.base_rate or stream.guessed_rate
    if not avg or not base or abs(float(avg) - float(base)) > 0.01 * float(base):
        return None
    return 1.0 / float(avg)


def _luma_size(width: int, height: int, cap: int | None) -> tuple[int, int] | None:
    """(w, h) the detail luma is kept at: the source's own size, shrunk to `cap` wide (even sizes); None: not kept."""
    if not cap or not width or not height:
        return None
    if width <= cap:
        return width, height
    return cap, max(2, int(round(height * cap / width / 2)) * 2)


_EIGHT_BIT_LUMA_FIRST = frozenset({"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12", "nv21", "gray"})


def _to_luma(frame: Any, width: int, height: int) -> np.ndarray:
    """The frame's luma plane at (width, height): a copy of the plane itself when the sizes match."""
    import cv2

    if frame.format.name in _EIGHT_BIT_LUMA_FIRST:
        y = _plane(frame.planes[0])
    else:
        y = frame.to_ndarray(format="gray")
    if y.shape != (height, width):
        return cv2.resize(y, (width, height), interpolation=cv2.INTER_AREA)
    return y


def _grown(buffer: np.ndarray, needed: int) -> np.ndarray:
    out = np.empty((max(needed, int(len(buffer) * 1.5) + 8), *buffer.shape[1:]), buffer.dtype)
    out[: len(buffer)] = buffer
    return out


def _samples(frame: Any) -> np.ndarray:
    """The samples of a packed float32 mono audio frame (the resampler's output), without a copy."""
    return np.frombuffer(frame.planes[0], np.float32)[: frame.samples]


def _frame_time(frame: Any, time_base: float | None) -> float:
    if frame.time is not None:
        return float(frame.time)
    if frame.pts is not None and time_base:
        return float(frame.pts * time_base)
    return 0.0
