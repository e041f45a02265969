"""A local HTTP server that behaves like ElevenLabs' text-to-speech endpoint, for SDK tests.

Implements `POST /v1/text-to-speech/{voice_id}?output_format=...` as the `elevenlabs` SDK calls it:
`xi-api-key` header, JSON body with `text`, `model_id`, `voice_settings`, `seed`. It answers with
real speech (espeak-ng, a voice picked from the voice id, speed from `voice_settings.speed`)
encoded to the requested format: raw 16-bit PCM (`pcm_<rate>`), WAV (`wav_<rate>`) or MP3
(`mp3_<rate>_<kbps>`, via ffmpeg). Errors look like the real API's: 401 with
`{"detail": {"status": "invalid_api_key", ...}}`, 422 for a bad body, 429 with `retry-after`.
Failures can be injected with `fail_next(status, times, retry_after=...)`.

Standalone: `python -m tests.fakes.elevenlabs_server --port 8125`.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import numpy as np
from scipy import signal

from .base import (
    FakeServer,
    Fault,
    Reply,
    bytes_reply,
    json_reply,
    run_standalone,
)

PATH = re.compile(r"^/v1/text-to-speech/([A-Za-z0-9]+)$")
FORMAT = re.compile(r"^(mp3|pcm|wav)_(\d{4,5})(?:_(\d{2,3}))?$")
VOICES = ("en+m1", "en+m3", "en+m7", "en+f1", "en+f3", "en+f4")
ERROR_CODES = {401: "invalid_api_key", 429: "too_many_concurrent_requests", 500: "internal_error"}


@dataclass
class Recorded:
    path: str
    query: dict[str, list[str]]
    body: dict
    had_key: bool
    status: int = 0


def detail_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Reply:
    return json_reply(status, {"detail": {"status": code, "message": message}}, headers)


class FakeElevenLabs(FakeServer):
    """Start with `with FakeElevenLabs(api_key="k") as fake:`; point the SDK at `fake.base_url`."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.requests: list[Recorded] = []

    def fail_next(self, status: int, times: int = 1, retry_after: str | None = None) -> None:
        """Answer the next `times` synthesis calls with `status` (and a `retry-after` header when given)."""
        with self.lock:
            self.faults.script.extend(Fault(str(status), retry_after) for _ in range(times))

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> Reply:
        url = urlparse(path)
        try:
            request = json.loads(body or b"{}")
        except json.JSONDecodeError:
            request = None
        record = Recorded(url.path, parse_qs(url.query), request if isinstance(request, dict) else {}, bool(headers.get("xi-api-key")))
        self.requests.append(record)
        reply = self._speak(method, url.path, record, headers, request, body)
        record.status = reply[0]
        return reply

    def _speak(self, method: str, route: str, record: Recorded, headers: Any, request: Any, raw: bytes) -> Reply:
        match = PATH.match(route)
        if method != "POST" or not match:
            return detail_error(404, "not_found", f"no route {route}")
        if headers.get("xi-api-key") != self.api_key:
            return detail_error(401, "invalid_api_key", "Invalid API key")
        fault = self.pick_fault()
        if fault is not None:
            status = int(fault.kind)
            retry = {"retry-after": fault.retry_after} if fault.retry_after is not None else {}
            return detail_error(status, ERROR_CODES.get(status, "error"), f"injected {status}", retry)
        if request is None or not isinstance(request.get("text"), str) or not request["text"].strip():
            return json_reply(422, {"detail": [{"loc": ["body", "text"], "msg": "field required", "type": "missing"}]})
        output_format = (record.query.get("output_format") or ["mp3_44100_128"])[0]
        fmt = FORMAT.match(output_format)
        if not fmt:
            return detail_error(400, "invalid_output_format", f"output_format {output_format!r} is not supported")
        speed = float((request.get("voice_settings") or {}).get("speed") or 1.0)
        samples, rate = speak(request["text"], match.group(1), speed)
        payload, content_type = encode(samples, rate, fmt.group(1), int(fmt.group(2)), int(fmt.group(3) or 128))
        return bytes_reply(200, payload, content_type, {"request-id": hashlib.sha256(raw).hexdigest()[:16]})


def speak(text: str, voice_id: str, speed: float) -> tuple[np.ndarray, int]:
    """espeak-ng speech, a voice chosen by hashing the voice id, with leading/trailing silence kept."""
    voice = VOICES[int(hashlib.sha256(voice_id.encode()).hexdigest(), 16) % len(VOICES)]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "speech.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(int(170 * speed)), "-w", str(out), text], check=True, capture_output=True)
        with wave.open(str(out)) as wav:
            rate = wav.getframerate()
            samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
    # the real API pads a little silence around speech; the client must trim it
    pad = np.zeros(int(0.15 * rate), dtype=np.float32)
    return np.concatenate([pad, samples, pad]), rate


def encode(samples: np.ndarray, rate: int, codec: str, out_rate: int, kbps: int) -> tuple[bytes, str]:
    """Encode float mono to the requested API format: raw PCM, WAV, or MP3 (ffmpeg, libmp3lame)."""
    if out_rate != rate:
        from math import gcd

        g = gcd(rate, out_rate)
        samples = signal.resample_poly(samples, out_rate // g, rate // g).astype(np.float32)
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    if codec == "pcm":
        return pcm, "application/octet-stream"
    buf = io.BytesIO()
    with wave.open(buf, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(out_rate)
        wav.writeframes(pcm)
    if codec == "wav":
        return buf.getvalue(), "audio/wav"
    proc = subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "wav", "-i", "pipe:0", "-c:a", "libmp3lame", "-b:a", f"{kbps}k", "-f", "mp3", "pipe:1"],
        input=buf.getvalue(), capture_output=True, check=True,
    )  # fmt: skip
    return proc.stdout, "audio/mpeg"


def main() -> None:
    run_standalone(lambda args: FakeElevenLabs(port=args.port), __doc__, 8125, "ElevenLabs", "ELEVENLABS_API_KEY")


if __name__ == "__main__":
    main()
