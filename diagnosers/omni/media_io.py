"""Media in the forms omni APIs take: the clip file, the clip without sound, its sound as WAV, sampled frames."""

from __future__ import annotations

import base64
import hashlib
import io
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np

SAMPLE_RATE = 16000


@dataclass(frozen=True)
class Blob:
    """Bytes to send or upload, with the content hash of the clip they were made from and the variant."""

    data: bytes
    mime_type: str
    source_sha: str
    variant: str  # "clip", "video_only", "audio_wav"

    @property
    def key(self) -> str:
        """Upload-cache key segment: the source clip's sha plus the variant (derivatives are not bit-stable)."""
        return self.source_sha if self.variant == "clip" else f"{self.source_sha}.{self.variant}"

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def data_url(self) -> str:
        return f"data:{self.mime_type};base64,{base64.b64encode(self.data).decode()}"


def _path(media: Any) -> Path:
    path = getattr(media, "path", None)
    if path is None:
        raise ValueError("this judge needs the clip file: the media has no path (in-memory arrays)")
    return Path(path)


def clip_blob(media: Any) -> Blob:
    """The clip file as it is."""
    return Blob(_path(media).read_bytes(), "video/mp4", media.sha256, "clip")


def video_only_blob(media: Any) -> Blob:
    """The clip remuxed without its audio streams (stream copy: no re-encode, same pictures)."""
    src = _path(media)
    out = io.BytesIO()
    with av.open(str(src)) as inp:
        vstreams = [s for s in inp.streams if s.type == "video"]
        if not vstreams:
            raise ValueError(f"{src}: no video stream")
        with av.open(out, "w", format="mp4") as dst:
            ostream = dst.add_stream_from_template(vstreams[0])
            for packet in inp.demux(vstreams[0]):
                if packet.dts is None:
                    continue
                packet.stream = ostream
                dst.mux(packet)
    return Blob(out.getvalue(), "video/mp4", media.sha256, "video_only")


def audio_samples(media: Any) -> np.ndarray:
    """16 kHz mono float32 samples: the shared decode when the media has one, else our own PyAV pass."""
    audio = getattr(media, "audio", None)
    if audio is not None:
        return np.asarray(audio, dtype=np.float32).reshape(-1)
    src = _path(media)
    chunks = []
    with av.open(str(src)) as inp:
        if not inp.streams.audio:
            return np.zeros(0, dtype=np.float32)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        for frame in inp.decode(audio=0):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1))
    return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, dtype=np.float32)


def wav_bytes(samples: np.ndarray, rate: int = SAMPLE_RATE) -> bytes:
    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def audio_blob(media: Any) -> Blob:
    """The clip's sound as 16 kHz mono WAV."""
    return Blob(wav_bytes(audio_samples(media)), "audio/wav", media.sha256, "audio_wav")


def sampled_frames(media: Any, count: int) -> list[tuple[float, bytes]]:
    """Up to `count` evenly spaced frames as (time in s, JPEG bytes), from the shared decode."""
    import cv2

    frames = np.asarray(media.frames)
    times = np.asarray(media.frame_times)
    if len(frames) == 0:
        return []
    picks = np.unique(np.linspace(0, len(frames) - 1, num=min(count, len(frames))).round().astype(int))
    out = []
    for k in picks:
        ok, jpg = cv2.imencode(".jpg", cv2.cvtColor(frames[k], cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
        if not ok:
            raise ValueError(f"could not encode frame {k} as JPEG")
        out.append((float(times[k]), jpg.tobytes()))
    return out
