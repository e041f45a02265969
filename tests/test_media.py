"""ClipMedia decodes a real MP4 once (PyAV), samples frames on a fixed grid and caches features."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from diagnosers.decode import decode_picture
from diagnosers.media import ClipMedia, MediaChain, MediaError, MediaPair


def _make_clip(path: Path, seconds: float = 3.0, fps: int = 25, with_audio: bool = True) -> Path:
    """A clip whose picture brightens over time and whose audio is a 440 Hz tone after 1 s."""
    import av

    container = av.open(str(path), "w")
    v = container.add_stream("libx264", rate=fps)
    v.width, v.height, v.pix_fmt = 160, 96, "yuv420p"
    a = None
    if with_audio:
        a = container.add_stream("aac", rate=48000)
        a.layout = "mono"
    n = int(seconds * fps)
    for i in range(n):
        img = np.full((96, 160, 3), int(255 * i / n), np.uint8)
        for packet in v.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
            container.mux(packet)
    for packet in v.encode():
        container.mux(packet)
    if a is not None:
        sr = 48000
        t = np.arange(int(seconds * sr)) / sr
        tone = (0.5 * np.sin(2 * np.pi * 440 * t) * (t >= 1.0)).astype(np.float32)
        for start in range(0, len(tone), 1024):
            chunk = tone[start:start + 1024].reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
            frame.sample_rate = sr
            frame.pts = start
            for packet in a.encode(frame):
                container.mux(packet)
        for packet in a.encode():
            container.mux(packet)
    container.close()
    return path


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return _make_clip(tmp_path_factory.mktemp("media") / "clip.mp4")


def test_decode_frames_audio_and_duration(clip):
    media = ClipMedia.open(clip, None, fps=5.0, size=(80, 48))
    assert not media.decoded
    assert media.frames.shape == (15, 48, 80, 3) and media.frames.dtype == np.uint8
    assert np.allclose(media.frame_times, np.arange(15) / 5.0)
    # the picture brightens: frame means rise monotonically
    means = media.frames.reshape(15, -1).mean(axis=1)
    assert np.all(np.diff(means) > 0)
    assert media.sample_rate == 16000 and media.audio.dtype == np.float32
    assert abs(media.duration_s - 3.0) < 0.1
    silent = np.sqrt(np.mean(media.audio_window(0.1, 0.9) ** 2))
    loud = np.sqrt(np.mean(media.audio_window(1.5, 2.5) ** 2))
    assert silent < 0.01 < 0.2 < loud
    # the tone is still 440 Hz after resampling
    seg = media.audio_window(1.5, 2.5)
    spectrum = np.abs(np.fft.rfft(seg))
    assert abs(np.argmax(spectrum) * 16000 / len(seg) - 440) < 5


def test_sha256_matches_file(clip):
    import hashlib

    assert ClipMedia.open(clip).sha256 == hashlib.sha256(clip.read_bytes()).hexdigest()


def test_feature_computed_once_across_threads(clip):
    media = ClipMedia.open(clip, fps=2.0)
    calls = []

    def compute(m):
        calls.append(1)
        return float(m.audio.std())

    results = []
    threads = [threading.Thread(target=lambda: results.append(media.feature("std", compute))) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(set(results)) == 1


def test_clip_without_audio_gets_silence(tmp_path):
    media = ClipMedia.open(_make_clip(tmp_path / "mute.mp4", seconds=2.0, with_audio=False), fps=4.0)
    assert len(media.frames) == 8
    assert media.audio.shape[0] == pytest.approx(2.0 * 16000, abs=400) and not media.audio.any()


def test_lower_source_rate_repeats_frames_on_the_grid(tmp_path):
    media = ClipMedia.open(_make_clip(tmp_path / "slow.mp4", seconds=2.0, fps=5, with_audio=False), fps=10.0)
    assert np.allclose(media.frame_times, np.arange(len(media.frames)) / 10.0)
    assert len(media.frames) == 20


def test_bad_inputs_name_the_file(tmp_path):
    with pytest.raises(MediaError, match="does not exist"):
        ClipMedia.open(tmp_path / "nope.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 10)
    with pytest.raises(MediaError, match="junk.mp4"):
        ClipMedia.open(junk).frames


def test_pair_and_chain(clip):
    a, b = ClipMedia.open(clip), ClipMedia.open(clip, fps=2.0)
    assert MediaPair(a, b).sha256 == f"{a.sha256}+{b.sha256}"
    chain = MediaChain(scenes=[a, b])
    assert len(chain) == 2 and len(chain.sha256) == 64
    with pytest.raises(MediaError):
        MediaChain(scenes=[])


def test_from_arrays():
    frames = np.zeros((10, 20, 30, 3), np.uint8)
    media = ClipMedia.from_arrays(frames, np.zeros(16000, np.float32), fps=5.0)
    assert media.duration_s == 2.0 and media.size == (30, 20) and len(media.sha256) == 64


def _moving_clip(path: Path, seconds: float = 4.0, fps: int = 25) -> Path:
    """A silent clip of a bright square gliding over a noisy field: x264 codes it with B frames."""
    import av

    rng = np.random.default_rng(0)
    field = rng.integers(0, 255, (96, 160, 3), dtype=np.uint8)
    container = av.open(str(path), "w")
    v = container.add_stream("libx264", rate=fps, options={"bf": "3", "b-pyramid": "normal"})
    v.width, v.height, v.pix_fmt = 160, 96, "yuv420p"
    for i in range(int(seconds * fps)):
        img = field.copy()
        x = (3 * i) % 130
        img[30:60, x:x + 30] = 255
        for packet in v.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
            container.mux(packet)
    for packet in v.encode():
        container.mux(packet)
    container.close()
    return path


def test_sampling_skips_unused_frames_and_keeps_a_full_decodes_frames(tmp_path):
    clip = _moving_clip(tmp_path / "moving.mp4")
    fast = ClipMedia.open(clip, None, fps=12.5, size=(80, 48), luma_width=160)
    full = decode_picture(clip, 12.5, (80, 48), 160, skip_unused=False)
    assert fast.frames.shape == full.frames.shape == (50, 48, 80, 3)
    assert fast.frames_decoded < full.frames_decoded == 100  # non-reference frames between samples skipped
    assert np.array_equal(fast.frames, full.frames)
    assert np.array_equal(fast.luma, full.luma)
    assert np.array_equal(fast.frame_times, full.frame_times)
    assert fast.duration_s == pytest.approx(max(full.frame_span, len(fast.audio) / 16000))


def test_luma_keeps_detail_of_the_sampled_frames(tmp_path):
    clip = _moving_clip(tmp_path / "moving.mp4")
    media = ClipMedia.open(clip, None, fps=12.5, size=(80, 48), luma_width=160)
    assert media.luma.shape == (50, 96, 160) and media.luma.dtype == np.uint8
    import cv2

    small = cv2.resize(media.luma[10], (80, 48), interpolation=cv2.INTER_AREA).astype(float)
    gray = cv2.cvtColor(media.frames[10], cv2.COLOR_RGB2GRAY).astype(float)
    assert np.corrcoef(small.ravel(), gray.ravel())[0, 1] > 0.95  # the same picture, finer
    plain = ClipMedia.open(clip, None, fps=12.5, size=(80, 48))
    assert plain.luma.shape == (50, 48, 80)  # without luma_width: the frames' own luma
    with pytest.raises(MediaError, match="luma_width"):
        ClipMedia.open(clip, None, size=(80, 48), luma_width=40)


def test_release_picture_keeps_sound_and_features_and_decodes_the_same_picture_again(tmp_path):
    clip = _moving_clip(tmp_path / "moving.mp4")
    media = ClipMedia.open(clip, None, fps=12.5, size=(80, 48), luma_width=160)
    frames, luma, audio = media.frames.copy(), media.luma.copy(), media.audio
    calls = []
    media.feature("mean", lambda m: calls.append(1) or float(m.frames.mean()))
    media.release_picture()
    assert not media.decoded and media.audio is audio  # the sound is kept
    assert media.feature("mean", lambda m: calls.append(1) or 0.0) == pytest.approx(frames.mean()) and len(calls) == 1
    assert np.array_equal(media.frames, frames) and np.array_equal(media.luma, luma)
