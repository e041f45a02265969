"""Decode a clip once: frames at the judges' rate and size, 16 kHz mono audio, and a per-clip feature cache.

Every judge and probe on a clip shares one `ClipMedia`. Decoding happens on first access (`decode.py`: one
demux pass over the container with PyAV per stream), and derived features (speech segments, cuts, face tracks,
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

from diagnosers.decode import SAMPLE_RATE, MediaError, decode_picture, decode_sound
from storage.keys import sha256_file

if TYPE_CHECKING:
    from scenes import Scene

T = TypeVar("T")


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

    def _decode_video(self) -> None:
        assert self.path is not None
        picture = decode_picture(self.path, self.fps, self.size, self.luma_width)
        self._frames, self._luma, self._frame_times = picture.frames, picture.luma, picture.frame_times
        self._source_fps, self._frame_span = picture.source_fps, picture.frame_span
        self.frames_decoded = picture.frames_decoded

    def _decode_audio(self) -> None:
        """The sound, or silence as long as the picture when the clip has no audio stream."""
        assert self.path is not None
        audio = decode_sound(self.path)
        if audio is None:
            self._ensure_video()
            assert self._frame_span is not None
            audio = np.zeros(int(round(self._frame_span * SAMPLE_RATE)), np.float32)
        self._audio = audio

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
