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
_silero_lock = threading.Lock()
_encoder_lock = threading.Lock()  # one caller of the shared voice encoder at a time


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
VAD_CONTEXT = 64  # samples of the previous window silero prepends to each window at 16 kHz


class _SileroSequence:
    """silero-vad's 16 kHz network run over a whole clip at once (decision 101).

    The streaming model (`model(chunk, 16000)` per 32 ms window) is a stateless front end (STFT,
    four convolutions) on each window with its 64-sample left context, then an LSTM cell carried
    from window to window, then a 1x1 convolution and a sigmoid. Here the front end runs on every
    window in one batch, the LSTM cell runs as a one-layer `torch.lstm` over the sequence, and the
    head on all outputs: the same weights and the same arithmetic as the sequential calls
    (probabilities agree to ~1e-6) in one call instead of one per window.
    """

    def __init__(self, jit_model) -> None:
        import torch

        net = jit_model._model  # the 16 kHz network inside silero's TorchScript wrapper
        state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        self.basis = state["stft.forward_basis_buffer"]
        self.hop = int(net.stft.hop_length)
        self.pad = int(self.basis.shape[-1] // 4)  # silero pads each window on the right by a quarter of its filter (64)
        strides = (1, 2, 2, 1)
        self.convs = [(state[f"encoder.{i}.reparam_conv.weight"], state[f"encoder.{i}.reparam_conv.bias"], strides[i]) for i in range(4)]
        self.lstm = torch.nn.LSTM(128, 128)
        with torch.no_grad():
            self.lstm.weight_ih_l0.copy_(state["decoder.rnn.weight_ih"])
            self.lstm.weight_hh_l0.copy_(state["decoder.rnn.weight_hh"])
            self.lstm.bias_ih_l0.copy_(state["decoder.rnn.bias_ih"])
            self.lstm.bias_hh_l0.copy_(state["decoder.rnn.bias_hh"])
        self.head_w, self.head_b = state["decoder.decoder.2.weight"], state["decoder.decoder.2.bias"]

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        """Speech probability of each row of `windows` (n, 512), in order, starting from a fresh state."""
        import torch
        import torch.nn.functional as F

        x = torch.from_numpy(np.ascontiguousarray(windows, dtype=np.float32))
        context = torch.cat([torch.zeros(1, VAD_CONTEXT), x[:-1, -VAD_CONTEXT:]], 0)
        x = F.pad(torch.cat([context, x], 1), (0, self.pad), mode="reflect").unsqueeze(1)
        spec = F.conv1d(x, self.basis, stride=self.hop)
        cutoff = spec.shape[1] // 2
        x = torch.sqrt(spec[:, :cutoff] ** 2 + spec[:, cutoff:] ** 2)
        for weight, bias, stride in self.convs:
            x = F.relu(F.conv1d(x, weight, bias, stride=stride, padding=1))
        h, _ = self.lstm(x.squeeze(-1).unsqueeze(1))  # (n, 1, 128): the cell's state runs window to window
        out = torch.sigmoid(F.conv1d(F.relu(h.squeeze(1).unsqueeze(-1)), self.head_w, self.head_b))
        return out.squeeze(1).mean(1).numpy().astype(np.float32)


def _silero_sequence() -> _SileroSequence:
    global _SEQUENCE
    with _silero_lock:  # built once; running it keeps no state, so threads share it freely
        if _SEQUENCE is None:
            _SEQUENCE = _SileroSequence(_silero())
    return _SEQUENCE


_SEQUENCE: _SileroSequence | None = None


def speech_probs(media: ClipMedia) -> np.ndarray:
    """silero-vad speech probability per 32 ms window of the clip's audio (the streaming model's values)."""

    def compute(m: ClipMedia) -> np.ndarray:
        import torch

        n = len(m.audio) // VAD_CHUNK
        if n == 0 or float(np.abs(m.audio).max()) < 1e-4:
            return np.zeros(max(n, 1), np.float32)
        model = _silero_sequence()
        with torch.inference_mode():
            return model(m.audio[: n * VAD_CHUNK].reshape(n, VAD_CHUNK))

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
    with _encoder_lock, torch.no_grad():
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
    """F0 in Hz per 20 ms frame (autocorrelation; NaN where unvoiced) within a span.

    Each 40 ms frame (20 ms hop) is demeaned; its autocorrelation (all frames at once, by FFT) peaks
    at a lag between 70 and 400 Hz; the frame is voiced when that peak reaches 0.45 of its energy.
    """
    a = media.audio_window(start, end).astype(np.float64)
    win = 640
    starts = np.arange(0, max(0, len(a) - win), HOP)
    if not len(starts):
        return np.zeros(0)
    lo, hi = SAMPLE_RATE // 400, SAMPLE_RATE // 70  # 70..400 Hz
    _, k, voiced = frame_autocorrelation(a[starts[:, None] + np.arange(win)[None, :]], lo, hi, 2 * win, 0.45)
    return np.where(voiced, SAMPLE_RATE / (lo + k), np.nan)


def frame_autocorrelation(x: np.ndarray, lo: int, hi: int, nfft: int, voiced_peak: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For audio frames (rows, each demeaned here): the autocorrelation at lags lo..hi-1 (one FFT of
    `nfft` points for all frames; `nfft` >= frame + hi avoids wrap-around), the index of its peak, and
    whether the frame is voiced (energy >= 1e-4 and the peak reaching `voiced_peak` of the energy)."""
    x = x - x.mean(axis=1, keepdims=True)
    energy = np.einsum("ij,ij->i", x, x)
    spec = np.fft.rfft(x, nfft, axis=1)
    ac = np.fft.irfft(spec.real**2 + spec.imag**2, nfft, axis=1)[:, lo:hi]
    k = np.argmax(ac, axis=1)
    peak = ac[np.arange(len(k)), k]
    return ac, k, (energy >= 1e-4) & (peak > voiced_peak * np.maximum(energy, 1e-30))


# picture --------------------------------------------------------------------------------------


_HIST_BINS = (8, 4, 4)  # hue (0..180), saturation, value (0..256): 128 bins


@lru_cache(maxsize=1)
def _hist_lut() -> np.ndarray:
    """Per HSV channel, uint8 value -> its share of the joint bin index (cv2.calcHist's uniform bins, floor(v * bins / range))."""
    v = np.arange(256)
    hue = np.minimum(v * _HIST_BINS[0] // 180, _HIST_BINS[0] - 1) * _HIST_BINS[1] * _HIST_BINS[2]
    sat = v * _HIST_BINS[1] // 256 * _HIST_BINS[2]
    val = v * _HIST_BINS[2] // 256
    return np.stack([hue, sat, val], axis=-1).astype(np.uint8)[None]


_LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], np.float32)
# Frames converted to float at a time: a whole clip's float copy is tens of MB of fresh memory, and on a
# virtual machine each first touch of a fresh page costs ~20 us (decision 223); the values are the same.
_FRAMES_AT_ONCE = 16


def picture_stats(media: ClipMedia) -> dict[str, np.ndarray]:
    """Per frame: luminance mean, contrast (luma std), saturation mean, warmth (R-B), hue histogram.

    Measured on every other pixel of each frame, all frames in a few whole-clip OpenCV/numpy calls
    (the 8x4x4 hue/saturation/value histogram through a lookup table; the same values as per-frame
    cv2.calcHist).
    """

    def compute(m: ClipMedia) -> dict[str, np.ndarray]:
        import cv2

        frames = m.frames
        n, height, width = frames.shape[:3]
        h, w = (height + 1) // 2, (width + 1) // 2
        if height % 2 == 0:  # every other pixel of the whole stack at once (nearest: exactly [::2, ::2])
            small = cv2.resize(frames.reshape(n * height, width, 3), (w, n * h), interpolation=cv2.INTER_NEAREST).reshape(n, h, w, 3)
        else:
            small = np.ascontiguousarray(frames[:, ::2, ::2])
        y = np.empty((n, h, w), np.float32)
        for k in range(0, n, _FRAMES_AT_ONCE):  # no float copy of the whole stack (decision 223)
            y[k:k + _FRAMES_AT_ONCE] = small[k:k + _FRAMES_AT_ONCE].astype(np.float32) @ _LUMA_WEIGHTS
        hsv = cv2.cvtColor(small.reshape(n * h, w, 3), cv2.COLOR_RGB2HSV)
        index = cv2.transform(cv2.LUT(hsv, _hist_lut()), np.ones((1, 3), np.float32)).reshape(n, h, w)
        nbins = int(np.prod(_HIST_BINS))
        hists = np.stack([cv2.calcHist([f], [0], None, [nbins], [0, nbins]).reshape(-1) for f in index]) if n else np.zeros((0, nbins), np.float32)
        rgb_sums = np.array([cv2.sumElems(f)[:3] for f in small]).reshape(n, 3)  # exact integer sums
        return {
            "luminance": y.mean(axis=(1, 2)), "contrast": y.std(axis=(1, 2)),
            "saturation": hsv.reshape(n, h * w, 3)[..., 1].mean(axis=1),
            "warmth": rgb_sums[:, 0] / (h * w) - rgb_sums[:, 2] / (h * w),
            "hist": hists / (hists.sum(axis=1, keepdims=True) + 1e-9),
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

        f = m.frames
        if not len(f):
            return np.zeros((0, *f.shape[1:3]), np.uint8)
        return cv2.cvtColor(f.reshape(-1, *f.shape[2:]), cv2.COLOR_RGB2GRAY).reshape(f.shape[:3])

    return media.feature("gray", compute)


def frame_diff(media: ClipMedia) -> np.ndarray:
    """Mean absolute luma difference to the previous sampled frame (0 for the first)."""

    def compute(m: ClipMedia) -> np.ndarray:
        g = gray_small(m)
        d = np.abs(np.diff(g, axis=0)).mean(axis=(1, 2)) if len(g) > 1 else np.zeros(0)
        return np.concatenate([[0.0], d])

    return media.feature("frame_diff", compute)


def neighbour_medians(x: np.ndarray) -> np.ndarray:
    """Per frame i >= 1: the median of `x` over its neighbours i-3..i+3 (frame 0 and i itself left out), the
    ordinary change a spike at i stands out from (0 at frame 0)."""
    n = len(x)
    out = np.zeros(n)
    # frames with all six neighbours at once: the same medians, without a numpy call per frame
    inner = np.arange(4, n - 3)
    if len(inner):
        near = np.stack([x[inner + k] for k in (-3, -2, -1, 1, 2, 3)], axis=1)
        out[inner] = np.median(near, axis=1)
    for i in [*range(1, min(4, n)), *range(max(4, n - 3), n)]:
        lo, hi = max(1, i - 3), min(n, i + 4)
        near = np.delete(x[lo:hi], i - lo)
        out[i] = float(np.median(near)) if len(near) else 0.0
    return out


def frame_diff_noise(media: ClipMedia) -> np.ndarray:
    """`neighbour_medians` of `frame_diff`: the picture's ordinary change around each frame."""
    return media.feature("frame_diff_noise", lambda m: neighbour_medians(frame_diff(m)))


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
        noise_h, noise_p = neighbour_medians(hd), frame_diff_noise(m)
        out: list[float] = []
        for i in range(1, len(hd)):
            spike_h = hd[i] > threshold and hd[i] > 2.5 * noise_h[i] + 0.02
            spike_p = pd[i] > pixel_threshold and pd[i] > 3.0 * noise_p[i] + 1.0
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


# Frames this close to a cut are left out of a shot's readings (a dissolve, the encoder's first frame of a shot).
SHOT_EDGE_S = 0.15
# A frame whose picture does not change at all from the previous one (mean |diff| of `frame_diff` at or under
# this) is a frozen picture, another fault: readings of movement or sharpness leave it out.
FROZEN_DIFF = 0.02


def moving_frames(media: ClipMedia, span: Span) -> list[int]:
    """Sampled frames of a shot read for what moves or changes in it: SHOT_EDGE_S clear of its cuts, frozen
    repeats left out (the first frame kept)."""
    times, changed = media.frame_times, frame_diff(media)
    inside = np.nonzero((times >= span.start + SHOT_EDGE_S) & (times <= span.end - SHOT_EDGE_S))[0]
    return [int(k) for j, k in enumerate(inside) if j == 0 or changed[k] > FROZEN_DIFF]


def frames_in(media: ClipMedia, span: Span, margin: float = 0.0) -> np.ndarray:
    """Indices of sampled frames inside a span (shrunk by `margin` at both ends)."""
    t = media.frame_times
    idx = np.nonzero((t >= span.start + margin) & (t < span.end - margin))[0]
    if not len(idx):
        idx = np.array([media.frame_index(span.mid)])
    return idx
