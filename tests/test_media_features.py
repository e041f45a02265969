"""Shared probe features and the fast decode paths keep the values of the straightforward ways to compute them.

Each fast path (whole-clip silero, whole-clip picture statistics, FFT pitch, luma/chroma-plane
decode, threads in the probe judge) is checked against the plain computation it replaces.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from diagnosers.decode import _to_luma, to_rgb
from diagnosers.media import SAMPLE_RATE, ClipMedia
from diagnosers.probes import features


def _speechy_audio(seconds: float = 3.0, seed: int = 0) -> np.ndarray:
    """Silence, a voiced buzz (harmonics of 150 Hz, syllable-rate envelope), noise: something silero reacts to."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    buzz = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 12))
    envelope = (np.sin(2 * np.pi * 4 * t) > 0) * ((t > 0.8) & (t < 2.2))
    return (0.3 * buzz * envelope + 0.01 * rng.standard_normal(len(t))).astype(np.float32)


def test_whole_clip_silero_matches_the_streaming_model():
    import torch

    audio = _speechy_audio()
    media = ClipMedia.from_arrays(np.zeros((4, 16, 16, 3), np.uint8), audio, fps=1.0)
    fast = features.speech_probs(media)
    n = len(audio) // features.VAD_CHUNK
    model = features._silero()
    model.reset_states()
    with torch.inference_mode():
        slow = np.array([float(model(torch.from_numpy(audio[k * 512:(k + 1) * 512].copy()), SAMPLE_RATE)) for k in range(n)])
    model.reset_states()
    assert fast.shape == (n,)
    assert np.abs(fast - slow).max() < 1e-4
    assert slow.max() > 0.5  # the comparison covers speech, not only silence


def test_silent_clip_has_no_speech():
    media = ClipMedia.from_arrays(np.zeros((4, 16, 16, 3), np.uint8), np.zeros(32000, np.float32), fps=2.0)
    assert not features.speech_probs(media).any()


def test_picture_stats_match_per_frame_opencv():
    import cv2

    rng = np.random.default_rng(1)
    frames = rng.integers(0, 256, (5, 36, 64, 3), dtype=np.uint8)
    frames[2] = 200  # a flat frame
    stats = features.picture_stats(ClipMedia.from_arrays(frames, np.zeros(16000, np.float32), fps=5.0))
    for k, f in enumerate(frames):
        small = f[::2, ::2]
        y = small.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        hsv = cv2.cvtColor(np.ascontiguousarray(small), cv2.COLOR_RGB2HSV)
        hist = cv2.calcHist([hsv], [0, 1, 2], None, [8, 4, 4], [0, 180, 0, 256, 0, 256]).reshape(-1)
        assert stats["luminance"][k] == pytest.approx(y.mean(), rel=1e-6)
        assert stats["contrast"][k] == pytest.approx(y.std(), rel=1e-5)
        assert stats["saturation"][k] == pytest.approx(hsv[..., 1].mean())
        assert stats["warmth"][k] == pytest.approx(float(small[..., 0].mean()) - float(small[..., 2].mean()))
        assert np.array_equal(stats["hist"][k], hist / (hist.sum() + 1e-9))
    gray = features.gray(ClipMedia.from_arrays(frames, np.zeros(16000, np.float32), fps=5.0))
    assert np.array_equal(gray, np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]))


def _pitch_by_loop(a: np.ndarray) -> np.ndarray:
    """The direct per-frame autocorrelation the FFT version replaces."""
    out = []
    for i in range(0, max(0, len(a) - 640), features.HOP):
        x = a[i: i + 640] - a[i: i + 640].mean()
        energy = float(np.dot(x, x))
        if energy < 1e-4:
            out.append(np.nan)
            continue
        ac = np.correlate(x, x, "full")[639:]
        lag = 40 + int(np.argmax(ac[40:228]))
        out.append(SAMPLE_RATE / lag if ac[lag] / energy > 0.45 else np.nan)
    return np.asarray(out)


def test_pitch_track_finds_the_fundamental_and_matches_the_direct_autocorrelation():
    audio = _speechy_audio(seed=3)
    media = ClipMedia.from_arrays(np.zeros((3, 16, 16, 3), np.uint8), audio, fps=1.0)
    f0 = features.pitch_track(media, 0.5, 2.5)
    ref = _pitch_by_loop(media.audio_window(0.5, 2.5).astype(np.float64))
    assert f0.shape == ref.shape
    assert np.array_equal(np.isnan(f0), np.isnan(ref))
    assert np.allclose(f0[~np.isnan(f0)], ref[~np.isnan(ref)])
    assert np.nanmedian(f0) == pytest.approx(150, rel=0.05)
    assert len(features.pitch_track(media, 1.0, 1.01)) == 0


def test_plane_conversion_matches_full_size_conversion():
    """Luma area-averaged plus native-size chroma gives the picture of converting every pixel and shrinking."""
    import av
    import cv2

    rng = np.random.default_rng(2)
    # smooth colour fields (a painted scene, not noise: noise clips in the full-size conversion)
    base = cv2.resize(rng.integers(30, 220, (9, 16, 3), dtype=np.uint8), (320, 180), interpolation=cv2.INTER_CUBIC)
    frame = av.VideoFrame.from_ndarray(base, format="rgb24").reformat(format="yuv420p")
    fast = to_rgb(frame, 160, 90)
    full = cv2.resize(cv2.cvtColor(frame.to_ndarray(), cv2.COLOR_YUV2RGB_I420), (160, 90), interpolation=cv2.INTER_AREA)
    diff = np.abs(fast.astype(int) - full.astype(int))
    assert fast.shape == (90, 160, 3) and diff.max() <= 3 and diff.mean() < 0.5
    # sizes above the chroma planes' go through the full conversion
    assert to_rgb(frame, 320, 180).shape == (180, 320, 3)


def test_plane_conversion_from_a_finer_luma_matches_the_full_plane():
    """A 720p frame shrunk through its 640x360 detail luma gives the picture of shrinking its own plane."""
    import av
    import cv2

    rng = np.random.default_rng(3)
    base = cv2.resize(rng.integers(30, 220, (9, 16, 3), dtype=np.uint8), (1280, 720), interpolation=cv2.INTER_CUBIC)
    base[300:420, 500:780] = rng.integers(0, 255, (120, 280, 3), dtype=np.uint8)  # fine detail the two paths average
    frame = av.VideoFrame.from_ndarray(base, format="rgb24").reformat(format="yuv420p")
    luma = _to_luma(frame, 640, 360)
    diff = np.abs(to_rgb(frame, 320, 180, luma).astype(int) - to_rgb(frame, 320, 180).astype(int))
    assert diff.max() <= 3 and diff.mean() < 0.6
    # a luma that is no whole multiple of the output is not used
    odd = _to_luma(frame, 480, 270)
    assert np.array_equal(to_rgb(frame, 320, 180, odd), to_rgb(frame, 320, 180))


def test_different_features_compute_side_by_side():
    """Per-feature locks: a feature may wait on another thread's feature without deadlock."""
    media = ClipMedia.from_arrays(np.zeros((2, 8, 8, 3), np.uint8), np.zeros(1600, np.float32), fps=1.0)
    started = threading.Event()
    out = {}

    def slow(m):
        started.set()
        assert finished.wait(5), "the other feature never ran while this one was computing"
        return "a"

    finished = threading.Event()

    def quick(m):
        finished.set()
        return "b"

    t = threading.Thread(target=lambda: out.setdefault("a", media.feature("slow", slow)))
    t.start()
    assert started.wait(5)
    out["b"] = media.feature("quick", quick)
    t.join(10)
    assert out == {"a": "a", "b": "b"}


def test_sound_decodes_without_the_picture(tmp_path):
    from tests.test_media import _make_clip

    media = ClipMedia.open(_make_clip(tmp_path / "c.mp4", seconds=2.0), None, fps=5.0, size=(80, 48))
    assert len(media.audio) == pytest.approx(2.0 * SAMPLE_RATE, abs=1600)
    assert not media.decoded  # the picture is decoded on first use only
    assert media.duration_s == pytest.approx(2.0, abs=0.1) and media.decoded


def test_sound_lane_probes_never_read_the_picture(tmp_path):
    """What a probe declares computable from the sound alone (`sound_only`, `sound_features`) computes on a
    clip whose picture cannot be decoded: the judge runs it while the picture decodes (decision 223)."""
    from diagnosers import build_judge
    from diagnosers.probes import PROBES
    from generators import build_generator
    from scenes import load_suite

    scene = load_suite("mini").scene("kitchen-quarrel")
    clip = build_generator("procedural").render(scene, 5, tmp_path).video_path
    media = ClipMedia.open(clip, scene, **build_judge("probes").media_options)

    def no_picture():
        raise AssertionError("a sound-lane probe read the picture")

    media._decode_video = no_picture
    lane = [p for p in PROBES if p.sound_only or p.sound_features]
    assert {"turns", "delivery", "cues", "voices"} <= {p.name for p in lane}
    for p in lane:
        p.measure_sound(media)
    assert not media.decoded and media.has_feature("line_embeddings") and media.has_feature("probe:turns")


def test_judge_answers_alike_on_one_thread_and_on_two(monkeypatch, tmp_path):
    from diagnosers import build_judge
    from generators import build_generator
    from scenes import load_suite
    from taxonomy.items import Format
    from taxonomy.qa import scene_items

    scene = load_suite("mini").scene("kitchen-quarrel")
    clip = build_generator("procedural?faults=frozen_picture").render(scene, 5, tmp_path).video_path
    judge = build_judge("probes")
    items = [i for i in scene_items(scene) if i.format is not Format.pairwise]
    answers = {}
    for threads in ("1", "2"):
        monkeypatch.setenv("MTAVG_PROBE_THREADS", threads)
        verdicts = judge.answer(ClipMedia.open(clip, scene, **judge.media_options), items)
        answers[threads] = [(v.status, v.answer, v.error) for v in verdicts]
    assert answers["1"] == answers["2"]
