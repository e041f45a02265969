"""Decode a clip once: frames at the judges' rate and size, 16 kHz mono audio, and a per-clip feature cache.

Every judge and probe on a clip shares one `ClipMedia`. Decoding happens on first access (one demux
pass over the container with PyAV), and derived features (speech segments, cuts, face tracks,
voice embeddings, ...) are computed once through `feature(name, compute)` and reused by every item.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from storage.keys import sha256_file

if TYPE_CHECKING:
    from scenes import Scene

T = TypeVar("T")
SAMPLE_RATE = 16000


class MediaError(ValueError):
    """A clip that cannot be decoded (missing file, no video stream, corrupt container)."""


class ClipMedia:
    """One clip's decoded picture and sound plus lazily computed shared features."""

    sample_rate: int = SAMPLE_RATE

    def __init__(
        self,
        path: str | Path | None,
        scene: Scene | None,
        *,
        fps: float = 5.0,
        size: tuple[int, int] = (320, 180),
        sha256: str | None = None,
        luma_width: int | None = None,
    ) -> None:
        if fps <= 0:
            raise MediaError(f"fps must be positive, got {fps}")
        if len(size) != 2 or min(size) < 8:
            raise MediaError(f"size must be (width, height) of at least 8 px, got {size}")
        self.path = Path(path) if path is not None else None
        self.scene = scene
        self.fps = float(fps)
        self.size = (int(size[0]), int(size[1]))
        if luma_width is not None and luma_width < self.size[0]:
            raise MediaError(f"luma_width must be at least the frame width {self.size[0]}, got {luma_width}")
        self.luma_width = luma_width
        self._sha256 = sha256
        self._frames: np.ndarray | None = None
        self._luma: np.ndarray | None = None
        self.frames_decoded = 0  # video frames the decoder actually produced (the skipped ones not counted)
        self._frame_times: np.ndarray | None = None
        self._audio: np.ndarray | None = None
        self._duration: float | None = None
        self._source_fps: float | None = None
        self._frame_span: float | None = None  # seconds the picture lasts (last frame held one source frame)
        self._decode_lock = threading.Lock()  # the picture's
        self._audio_lock = threading.Lock()
        self._feature_lock = threading.Lock()  # guards the per-feature locks
        self._feature_locks: dict[str, threading.Lock] = {}
        self._features: dict[str, Any] = {}

    # construction -----------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path, scene: Scene | None = None, *, fps: float = 5.0, size: tuple[int, int] = (320, 180),
             luma_width: int | None = None) -> ClipMedia:
        """A lazily decoded clip; fails at once with the path if the file does not exist."""
        p = Path(path)
        if not p.is_file():
            raise MediaError(f"clip {p} does not exist or is not a file")
        return cls(p, scene, fps=fps, size=size, luma_width=luma_width)

    @classmethod
    def from_arrays(
        cls,
        frames: np.ndarray,
        audio: np.ndarray,
        scene: Scene | None = None,
        *,
        fps: float = 5.0,
        sha256: str | None = None,
    ) -> ClipMedia:
        """Media already in memory (frames N,H,W,3 uint8 at `fps`; audio float32 mono 16 kHz)."""
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise MediaError(f"frames must be uint8 (N,H,W,3), got {frames.dtype} {frames.shape}")
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        media = cls(None, scene, fps=fps, size=(frames.shape[2], frames.shape[1]), sha256=sha256)
        media._frames = frames
        media._frame_times = np.arange(len(frames), dtype=np.float64) / fps
        media._audio = audio
        media._frame_span = len(frames) / fps
        media._duration = max(len(frames) / fps, len(audio) / SAMPLE_RATE)
        media._source_fps = fps
        return media

    # identity ---------------------------------------------------------------------------------

    @property
    def sha256(self) -> str:
        """sha256 of the clip file (the media part of every verdict key)."""
        if self._sha256 is None:
            if self.path is None:
                import hashlib

                h = hashlib.sha256(self.frames.tobytes())
                h.update(self.audio.tobytes())
                self._sha256 = h.hexdigest()
            else:
                self._sha256 = sha256_file(str(self.path))
        return self._sha256

    @property
    def scene_id(self) -> str | None:
        return self.scene.id if self.scene is not None else None

    # decoded media ----------------------------------------------------------------------------

    @property
    def frames(self) -> np.ndarray:
        """(N, H, W, 3) uint8 RGB frames sampled at `fps`, resized to `size`."""
        self._ensure_video()
        assert self._frames is not None
        return self._frames

    @property
    def luma(self) -> np.ndarray:
        """(N, h, w) uint8 luma of the same sampled frames in finer detail: the source's own luma plane,
        shrunk to at most `luma_width` pixels wide (faces and mouths in wide shots are a few pixels at
        `size`). Without `luma_width`, the luma of `frames` (OpenCV's RGB to gray)."""
        self._ensure_video()
        if self._luma is None:
            import cv2

            f = self._frames
            assert f is not None
            self._luma = (cv2.cvtColor(f.reshape(-1, *f.shape[2:]), cv2.COLOR_RGB2GRAY).reshape(f.shape[:3])
                          if len(f) else np.zeros((0, *f.shape[1:3]), np.uint8))
        return self._luma

    @property
    def frame_times(self) -> np.ndarray:
        """Presentation time in seconds of each sampled frame."""
        self._ensure_video()
        assert self._frame_times is not None
        return self._frame_times

    @property
    def audio(self) -> np.ndarray:
        """float32 mono samples at 16 kHz (zeros when the clip has no audio stream)."""
        self._ensure_audio()
        assert self._audio is not None
        return self._audio

    @property
    def duration_s(self) -> float:
        """The longer of the picture (its last frame held for one source frame) and the sound."""
        if self._duration is None:
            self._ensure_video()
            self._ensure_audio()
            assert self._frame_span is not None and self._audio is not None
            self._duration = float(max(self._frame_span, len(self._audio) / SAMPLE_RATE))
        return self._duration

    @property
    def source_fps(self) -> float | None:
        """The container's own frame rate (for reference; probes use `fps`)."""
        self._ensure_video()
        return self._source_fps

    @property
    def decoded(self) -> bool:
        return self._frames is not None

    def _ensure_decoded(self) -> None:
        self._ensure_video()
        self._ensure_audio()

    def _ensure_video(self) -> None:
        if self._frames is not None:
            return
        with self._decode_lock:
            if self._frames is None:
                self._decode_video()

    def _ensure_audio(self) -> None:
        """Picture and sound decode apart (each on first use, each under its own lock), so that one
        thread can work on the sound while another decodes the picture (decision 102)."""
        if self._audio is not None:
            return
        with self._audio_lock:
            if self._audio is None:
                self._decode_audio()

    def _open(self) -> Any:
        import av

        assert self.path is not None
        try:
            container = av.open(str(self.path))
        except (av.error.FFmpegError, OSError) as exc:
            raise MediaError(f"clip {self.path}: cannot open: {exc}") from None
        if not container.streams.video:
            container.close()
            raise MediaError(f"clip {self.path}: no video stream")
        return container

    def _decode_video(self) -> None:
        """One pass over the video stream: keep the first frame of each 1/fps slot.

        A constant-rate source faster than `fps` holds frames that the sampling drops (the second of
        each pair at 25 fps): those that no other frame refers to (an H.264 stream's non-reference B
        frames) need not be decoded at all. The pass sets the decoder's `skip_frame` per packet: NONREF
        for a packet whose frame is not the first of its slot, DEFAULT for the rest, so the kept frames
        are exactly a full decode's. Should a slot still go without its own frame (a stream whose
        timing the packets misstate), the clip is decoded again in full (decision 170).
        """
        if not self._decode_video_pass(skip_nonref=True):
            self._decode_video_pass(skip_nonref=False)

    def _decode_video_pass(self, skip_nonref: bool) -> bool:
        """Decode the picture into `_frames` (and `_luma`). With `skip_nonref`, non-reference frames that
        are not the first of their slot are skipped where the source is a constant rate faster than
        `fps`, and the pass gives up (False) at the first slot that only a skipped frame could have filled."""
        import av

        container = self._open()
        try:
            vstream = container.streams.video[0]
            vstream.thread_type = "AUTO"
            source_period = _constant_period(vstream)
            if skip_nonref and not (source_period and source_period < 0.95 / self.fps):
                skip_nonref = False
            codec = vstream.codec_context
            width, height = self.size
            # frames go straight into one array (grown if the container's duration undersold it)
            length = container.duration / 1e6 if container.duration else 0.0
            buffer = np.empty((math.ceil(length * self.fps) + 2, height, width, 3), np.uint8)
            luma_size = _luma_size(vstream.codec_context.width, vstream.codec_context.height, self.luma_width)
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
                        since_slot = (pt - first_pt) - math.floor((pt - first_pt) * self.fps + 1e-6) / self.fps
                        codec.skip_frame = "DEFAULT" if since_slot < source_period - 1e-4 else "NONREF"
                    for frame in packet.decode():
                        decoded += 1
                        t = _frame_time(frame, vbase)
                        if t0 is None:
                            t0 = t
                        t -= t0  # clips trimmed without re-timing start at a non-zero pts
                        last_video_t = max(last_video_t, t)
                        slot = int(math.floor(t * self.fps + 1e-6))
                        if slot < next_slot:
                            continue
                        if skip_nonref and slot > next_slot:
                            return False  # a skipped frame was the only one for a slot
                        if slot >= len(buffer):
                            buffer = _grown(buffer, slot + 1)
                            luma = _grown(luma, len(buffer)) if luma is not None else None
                        buffer[next_slot] = _to_rgb(frame, width, height)
                        # Fill skipped slots (source slower than `fps`) with the same picture so
                        # frame i always sits at i/fps.
                        buffer[next_slot + 1: slot + 1] = buffer[next_slot]
                        if luma is not None:
                            luma[next_slot] = _to_luma(frame, *luma_size)
                            luma[next_slot + 1: slot + 1] = luma[next_slot]
                        next_slot = count = slot + 1
            except av.error.FFmpegError as exc:
                if not count:
                    raise MediaError(f"clip {self.path}: cannot decode: {exc}") from None
                # A truncated tail still leaves usable media: keep what decoded.
            if not count:
                if skip_nonref:
                    return False
                raise MediaError(f"clip {self.path}: the video stream has no frames")
            rate = vstream.average_rate or vstream.guessed_rate
            source_fps = float(rate) if rate else None
            if skip_nonref and t0 is not None:
                # the picture lasts until its last frame, decoded or skipped (a stream may end on a B frame)
                last_video_t = max(last_video_t, last_packet_t - t0)
        finally:
            container.close()
        frame_span = last_video_t + (1.0 / source_fps if source_fps else 1.0 / self.fps)
        while next_slot / self.fps < frame_span - 1e-6:  # the last source frame holds until its end
            next_slot += 1
        if skip_nonref and next_slot - count > 2:
            return False  # more than the last couple of slots would repeat a frame they did not show
        if next_slot > len(buffer):
            buffer = _grown(buffer, next_slot)
            luma = _grown(luma, len(buffer)) if luma is not None else None
        buffer[count:next_slot] = buffer[count - 1]
        if luma is not None:
            luma[count:next_slot] = luma[count - 1]
            self._luma = luma[:next_slot].copy() if len(luma) > 1.25 * next_slot + 4 else luma[:next_slot]
        self._source_fps = source_fps
        self.frames_decoded = decoded
        self._frame_span = frame_span
        self._frame_times = np.arange(next_slot, dtype=np.float64) / self.fps
        # a view of the first frames (contiguous); copied only when the estimate left much unused
        self._frames = buffer[:next_slot].copy() if len(buffer) > 1.25 * next_slot + 4 else buffer[:next_slot]
        return True

    def _decode_audio(self) -> None:
        """One pass over the audio stream, resampled to 16 kHz mono (silence when there is none)."""
        import av

        container = self._open()
        try:
            astream = container.streams.audio[0] if container.streams.audio else None
            chunks: list[np.ndarray] = []
            if astream is not None:
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
        if astream is None:
            self._ensure_video()
            assert self._frame_span is not None
            self._audio = np.zeros(int(round(self._frame_span * SAMPLE_RATE)), np.float32)
        else:
            self._audio = np.concatenate(chunks).astype(np.float32, copy=False) if chunks else np.zeros(0, np.float32)

    # shared features --------------------------------------------------------------------------

    def feature(self, name: str, compute: Callable[[ClipMedia], T]) -> T:
        """`compute(self)` once per clip under `name`; later calls (any probe, any thread) reuse it.

        Each name has its own lock: threads computing different features run side by side, a
        thread asking for a feature that another is computing waits for that result.
        """
        cached = self._features.get(name, _MISSING)
        if cached is not _MISSING:
            return cached
        with self._feature_lock:
            lock = self._feature_locks.setdefault(name, threading.Lock())
        with lock:
            cached = self._features.get(name, _MISSING)
            if cached is _MISSING:
                cached = compute(self)
                self._features[name] = cached
            return cached

    def has_feature(self, name: str) -> bool:
        return name in self._features

    # helpers used by many probes ---------------------------------------------------------------

    def frame_index(self, t: float) -> int:
        """Index of the sampled frame shown at time `t` (clamped to the clip)."""
        n = len(self.frame_times)
        return int(min(max(int(math.floor(t * self.fps + 1e-6)), 0), n - 1))

    def audio_window(self, start: float, end: float) -> np.ndarray:
        """Audio samples between two times (clamped to the clip)."""
        a = max(0, int(start * SAMPLE_RATE))
        b = max(a, int(end * SAMPLE_RATE))
        return self.audio[a:b]

    def release_picture(self) -> None:
        """Drop the decoded frames and luma but keep the sound and the computed features (a pass over many
        clips that needs each picture once keeps one decoded picture at a time; a later access decodes again)."""
        with self._decode_lock:
            self._frames = self._luma = None

    def release(self) -> None:
        """Drop decoded arrays and features (the next access decodes again)."""
        with self._decode_lock, self._audio_lock, self._feature_lock:
            self._frames = self._frame_times = self._audio = self._luma = None
            self._duration = self._frame_span = None
            self._features.clear()
            self._feature_locks.clear()

    def __repr__(self) -> str:
        src = str(self.path) if self.path else "<memory>"
        return f"ClipMedia({src!r}, scene={self.scene_id!r}, fps={self.fps}, size={self.size})"


_MISSING = object()


# BT.601 limited-range YUV -> RGB (the coefficients of OpenCV's COLOR_YUV2RGB_I420), as a 3x4 affine map
_YUV_TO_RGB = np.array([[1.164, 0.0, 1.596], [1.164, -0.391, -0.813], [1.164, 2.018, 0.0]], np.float32)
_YUV_TO_RGB = np.concatenate([_YUV_TO_RGB, -(_YUV_TO_RGB @ np.float32([16, 128, 128]))[:, None]], axis=1)


def _plane(plane: Any) -> np.ndarray:
    """A view (no copy) of one picture plane of a decoded frame, without its row padding."""
    return np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)[:, : plane.width]


def _to_rgb(frame: Any, width: int, height: int) -> np.ndarray:
    """An RGB array of the frame at (width, height).

    For the usual yuv420p stream shrunk to at most its chroma size (640x360 -> 320x180), the luma
    plane is area-averaged to the output size and converted with the chroma planes, which already
    have (or are area-averaged to) that size: about 10x cheaper than converting every full-size
    pixel and shrinking the RGB picture, and the same values up to rounding (decision 101). Other
    pixel formats and sizes go through OpenCV's full conversion or swscale.
    """
    import cv2

    if frame.format.name == "yuv420p" and frame.width % 2 == 0 and frame.height % 2 == 0:
        if width <= frame.width // 2 and height <= frame.height // 2:
            y, u, v = (_plane(p) for p in frame.planes[:3])
            size = (width, height)
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


@dataclass
class MediaPair:
    """Two clips of the same scene, for pairwise items (option A = `a`, option B = `b`)."""

    a: ClipMedia
    b: ClipMedia

    @property
    def scene(self) -> Scene | None:
        return self.a.scene

    @property
    def sha256(self) -> str:
        return f"{self.a.sha256}+{self.b.sha256}"


@dataclass
class MediaChain:
    """The clips of a drama's scenes in story order, for drama-level items."""

    scenes: list[ClipMedia] = field(default_factory=list)
    drama: Any = None

    def __post_init__(self) -> None:
        if not self.scenes:
            raise MediaError("a MediaChain needs at least one clip")

    @property
    def sha256(self) -> str:
        import hashlib

        return hashlib.sha256("+".join(m.sha256 for m in self.scenes).encode()).hexdigest()

    @property
    def scene_ids(self) -> list[str | None]:
        return [m.scene_id for m in self.scenes]

    def __iter__(self):
        return iter(self.scenes)

    def __len__(self) -> int:
        return len(self.scenes)


def open_media(paths: Sequence[str | Path], scenes: Sequence[Scene], **kwargs: Any) -> ClipMedia | MediaChain:
    """One path → `ClipMedia`; several → a `MediaChain` in the given order."""
    if len(paths) != len(scenes):
        raise MediaError(f"{len(paths)} clips for {len(scenes)} scenes")
    clips = [ClipMedia.open(p, s, **kwargs) for p, s in zip(paths, scenes)]
    return clips[0] if len(clips) == 1 else MediaChain(scenes=clips)
