"""Shared per-clip features, each computed once through `ClipMedia.feature` and reused by every probe.

Audio: silero-vad speech segments, 20 ms RMS energy, per-line Resemblyzer embeddings, background
(non-speech) audio statistics. Picture: per-frame luminance/contrast/saturation/warmth, frame
difference energy per block, cuts (shot boundaries) found from colour-histogram jumps.
"""

from __future__ import annotations

import threading
from functools import lru_cache

import numpy as np

from diagnosers.media import SAMPLE_RATE, ClipMedia
from scenes.timing import Span  # one time-span type for scripts and measurements

HOP = 320  # 20 ms at 16 kHz: the audio frame of every energy/pitch feature
HOP_S = HOP / SAMPLE_RATE
_model_lock = threading.Lock()


# audio ----------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _silero():
    from silero_vad import load_silero_vad

    return load_silero_vad()


@lru_cache(maxsize=1)
def _voice_encoder():
    from resemblyzer import VoiceEncoder

    return VoiceEncoder("cpu", verbose=False)


VAD_CHUNK = 512  # silero's window at 16 kHz (32 ms)
VAD_S = VAD_CHUNK / SAMPLE_RATE


def speech_probs(media: ClipMedia) -> np.ndarray:
    """silero-vad speech probability per 32 ms window of the clip's audio."""

    def compute(m: ClipMedia) -> np.ndarray:
        import torch

        n = len(m.audio) // VAD_CHUNK
        if n == 0 or float(np.abs(m.audio).max()) < 1e-4:
            return np.zeros(max(n, 1), np.float32)
        chunks = torch.from_numpy(np.ascontiguousarray(m.audio[: n * VAD_CHUNK].reshape(n, VAD_CHUNK)))
        out = np.empty(n, np.float32)
        with _model_lock, torch.inference_mode():  # the model keeps state between windows: one caller at a time
            model = _silero()
            model.reset_states()
            for k in range(n):
                out[k] = float(model(chunks[k], SAMPLE_RATE))
        return out

    return media.feature("speech_probs", compute)


def speech_segments(media: ClipMedia, on: float = 0.5, off: float = 0.35) -> list[Span]:
    """Speech segments from silero probabilities (hysteresis; silences under 120 ms bridged, blips under 120 ms dropped)."""

    def compute(m: ClipMedia) -> list[Span]:
        p = speech_probs(m)
        segs: list[list[float]] = []
        active = False
        for k, v in enumerate(p):
            t = k * VAD_S
            if not active and v >= on:
                active = True
                segs.append([t, t + VAD_S])
            elif active:
                if v >= off:
                    segs[-1][1] = t + VAD_S
                else:
                    active = False
        merged: list[list[float]] = []
        for a, b in segs:
            if merged and a - merged[-1][1] < 0.12:
                merged[-1][1] = b
            else:
                merged.append([a, b])
        return [Span(round(a, 3), round(b, 3)) for a, b in merged if b - a >= 0.12]

    return media.feature("speech_segments", compute)


def rms_db(media: ClipMedia) -> np.ndarray:
    """Energy in dBFS per 20 ms audio frame (floor -100 dB)."""

    def compute(m: ClipMedia) -> np.ndarray:
        a = m.audio
        n = len(a) // HOP
        if n == 0:
            return np.full(1, -100.0)
        frames = a[: n * HOP].reshape(n, HOP).astype(np.float64)
        return 10 * np.log10(np.mean(frames**2, axis=1) + 1e-10)

    return media.feature("rms_db", compute)


def speech_mask(media: ClipMedia) -> np.ndarray:
    """Boolean per 20 ms audio frame: inside a silero speech segment."""

    def compute(m: ClipMedia) -> np.ndarray:
        mask = np.zeros(len(rms_db(m)), bool)
        for s in speech_segments(m):
            mask[int(s.start / HOP_S): int(np.ceil(s.end / HOP_S))] = True
        return mask

    return media.feature("speech_mask", compute)


def span_db(media: ClipMedia, start: float, end: float, percentile: float = 50.0) -> float:
    db = rms_db(media)[int(start / HOP_S): max(int(start / HOP_S) + 1, int(end / HOP_S))]
    return float(np.percentile(db, percentile)) if len(db) else -100.0


def _mel(media: ClipMedia) -> np.ndarray:
    """Resemblyzer's mel spectrogram (25 ms window, 10 ms hop, 40 bands) of the whole clip, once."""

    def compute(m: ClipMedia) -> np.ndarray:
        import librosa

        spec = np.abs(librosa.stft(m.audio.astype(np.float32), n_fft=400, hop_length=160)) ** 2
        basis = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=400, n_mels=40)
        return (basis @ spec).astype(np.float32).T

    return media.feature("resemblyzer_mel", compute)


def embed_spans(media: ClipMedia, spans: list[Span]) -> list[np.ndarray | None]:
    """Resemblyzer embeddings (unit length) of several spans in one batch; None under 0.4 s.

    Same recipe as `VoiceEncoder.embed_utterance` (1.6 s partials at 1.3 per second, averaged),
    but the mel spectrogram is computed once per clip and all partials go through the network together.
    """
    import torch

    mel = _mel(media)
    partials, owner = [], []
    step, width = round(16000 / 1.3 / 160), 160
    for k, span in enumerate(spans):
        if span.duration < 0.4:
            continue
        a, b = int(span.start * 100), int(span.end * 100)
        starts = list(range(a, max(a + 1, b - width + step), step))
        if len(starts) > 1 and (b - starts[-1]) / width < 0.75:
            starts = starts[:-1]
        for s0 in starts:
            chunk = np.zeros((width, mel.shape[1]), np.float32)
            piece = mel[s0: min(b, s0 + width)]
            chunk[: len(piece)] = piece
            partials.append(chunk)
            owner.append(k)
    out: list[np.ndarray | None] = [None] * len(spans)
    if not partials:
        return out
    with _model_lock, torch.no_grad():
        emb = _voice_encoder()(torch.from_numpy(np.stack(partials))).numpy()
    owner_arr = np.asarray(owner)
    for k in set(owner):
        vec = emb[owner_arr == k].mean(axis=0)
        out[k] = vec / (np.linalg.norm(vec) + 1e-9)
    return out


def spectral_frames(media: ClipMedia) -> tuple[np.ndarray, np.ndarray]:
    """Magnitude spectrogram (512-point FFT, 20 ms hop) and its frequency axis."""

    def compute(m: ClipMedia) -> tuple[np.ndarray, np.ndarray]:
        a = m.audio.astype(np.float32)
        n = len(a) // HOP
        if n < 2:
            return np.zeros((1, 257), np.float32), np.fft.rfftfreq(512, 1 / SAMPLE_RATE)
        padded = np.pad(a, (0, 512))
        idx = np.arange(n)[:, None] * HOP + np.arange(512)[None, :]
        win = np.hanning(512).astype(np.float32)
        spec = np.abs(np.fft.rfft(padded[idx] * win, axis=1)).astype(np.float32)
        return spec, np.fft.rfftfreq(512, 1 / SAMPLE_RATE)

    return media.feature("spectrogram", compute)


def pitch_track(media: ClipMedia, start: float, end: float) -> np.ndarray:
    """F0 in Hz per 20 ms frame (autocorrelation; NaN where unvoiced) within a span."""
    a = media.audio_window(start, end).astype(np.float64)
    win = 640
    out = []
    for i in range(0, max(0, len(a) - win), HOP):
        x = a[i: i + win]
        x = x - x.mean()
        energy = float(np.dot(x, x))
        if energy < 1e-4:
            out.append(np.nan)
            continue
        ac = np.correlate(x, x, "full")[win - 1:]
        lo, hi = SAMPLE_RATE // 400, SAMPLE_RATE // 70  # 70..400 Hz
        lag = lo + int(np.argmax(ac[lo:hi]))
        out.append(SAMPLE_RATE / lag if ac[lag] / energy > 0.45 else np.nan)
    return np.asarray(out)


# picture --------------------------------------------------------------------------------------


def picture_stats(media: ClipMedia) -> dict[str, np.ndarray]:
    """Per frame: luminance mean, contrast (luma std), saturation mean, warmth (R-B), hue histogram."""

    def compute(m: ClipMedia) -> dict[str, np.ndarray]:
        import cv2

        frames = m.frames
        lum, con, sat, warm, hists = [], [], [], [], []
        for f in frames:
            small = f[::2, ::2]
            y = small.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
            hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
            lum.append(y.mean())
            con.append(y.std())
            sat.append(hsv[..., 1].mean())
            warm.append(float(small[..., 0].mean()) - float(small[..., 2].mean()))
            h = cv2.calcHist([hsv], [0, 1, 2], None, [8, 4, 4], [0, 180, 0, 256, 0, 256]).reshape(-1)
            hists.append(h / (h.sum() + 1e-9))
        return {
            "luminance": np.asarray(lum), "contrast": np.asarray(con), "saturation": np.asarray(sat),
            "warmth": np.asarray(warm), "hist": np.asarray(hists),
        }

    return media.feature("picture_stats", compute)


def gray_small(media: ClipMedia) -> np.ndarray:
    """Luma frames at 1/4 of the decode size (float32), the base of every motion measure."""

    def compute(m: ClipMedia) -> np.ndarray:
        return gray(m)[:, ::4, ::4].astype(np.float32)

    return media.feature("gray_small", compute)


def gray(media: ClipMedia) -> np.ndarray:
    """uint8 luma of every sampled frame (OpenCV's RGB→gray)."""

    def compute(m: ClipMedia) -> np.ndarray:
        import cv2

        return np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in m.frames])

    return media.feature("gray", compute)


def frame_diff(media: ClipMedia) -> np.ndarray:
    """Mean absolute luma difference to the previous sampled frame (0 for the first)."""

    def compute(m: ClipMedia) -> np.ndarray:
        g = gray_small(m)
        d = np.abs(np.diff(g, axis=0)).mean(axis=(1, 2)) if len(g) > 1 else np.zeros(0)
        return np.concatenate([[0.0], d])

    return media.feature("frame_diff", compute)


def cut_scores(media: ClipMedia) -> np.ndarray:
    """Per frame: colour-histogram distance (L1/2) to the previous frame — large at cuts."""

    def compute(m: ClipMedia) -> np.ndarray:
        h = picture_stats(m)["hist"]
        d = 0.5 * np.abs(np.diff(h, axis=0)).sum(axis=1) if len(h) > 1 else np.zeros(0)
        return np.concatenate([[0.0], d])

    return media.feature("cut_scores", compute)


def cuts(media: ClipMedia, threshold: float = 0.25, pixel_threshold: float = 18.0) -> list[float]:
    """Times of cuts: frames whose histogram or pixel change is a local spike well above its neighbours."""

    def compute(m: ClipMedia) -> list[float]:
        hd, pd = cut_scores(m), frame_diff(m)
        out: list[float] = []
        for i in range(1, len(hd)):
            lo, hi = max(1, i - 3), min(len(hd), i + 4)
            neighbours_h = np.delete(hd[lo:hi], i - lo)
            neighbours_p = np.delete(pd[lo:hi], i - lo)
            spike_h = hd[i] > threshold and hd[i] > 2.5 * (np.median(neighbours_h) if len(neighbours_h) else 0) + 0.02
            spike_p = pd[i] > pixel_threshold and pd[i] > 3.0 * (np.median(neighbours_p) if len(neighbours_p) else 0) + 1.0
            if spike_h or spike_p:
                t = float(m.frame_times[i])
                if not out or t - out[-1] > 0.3:
                    out.append(t)
        return out

    return media.feature("cuts", compute)


def shot_spans(media: ClipMedia) -> list[Span]:
    """The clip split at detected cuts."""

    def compute(m: ClipMedia) -> list[Span]:
        edges = [0.0] + cuts(m) + [m.duration_s]
        return [Span(a, b) for a, b in zip(edges[:-1], edges[1:]) if b - a > 1e-6]

    return media.feature("shot_spans", compute)


def frames_in(media: ClipMedia, span: Span, margin: float = 0.0) -> np.ndarray:
    """Indices of sampled frames inside a span (shrunk by `margin` at both ends)."""
    t = media.frame_times
    idx = np.nonzero((t >= span.start + margin) & (t < span.end - margin))[0]
    if not len(idx):
        idx = np.array([media.frame_index(span.mid)])
    return idx
