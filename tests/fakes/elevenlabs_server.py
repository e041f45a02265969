"""A local HTTP server that behaves like ElevenLabs' text-to-speech endpoint, for SDK tests.

Implements `POST /v1/text-to-speech/{voice_id}?output_format=...` as the `elevenlabs` SDK calls it:
`xi-api-key` header, JSON body with `text`, `model_id`, `voice_settings`, `seed`. It answers with
real speech (espeak-ng, a voice picked from the voice id, speed from `voice_settings.speed`)
encoded to the requested format: raw 16-bit PCM (`pcm_<rate>`), WAV (`wav_<rate>`) or MP3
(`mp3_<rate>_<kbps>`, via ffmpeg). Errors look like the real API's: 401 with
`{"detail": {"status": "invalid_api_key", ...}}`, 422 for a bad body, 429 with `retry-after`.
Failures can be injected with `fail_next(status, times, retry_after=...)`.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import tempfile
import threading
import wave
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
from scipy import signal

PATH = re.compile(r"^/v1/text-to-speech/([A-Za-z0-9]+)$")
FORMAT = re.compile(r"^(mp3|pcm|wav)_(\d{4,5})(?:_(\d{2,3}))?$")
VOICES = ("en+m1", "en+m3", "en+m7", "en+f1", "en+f3", "en+f4")


@dataclass
class Injected:
    status: int
    retry_after: str | None = None


@dataclass
class Recorded:
    path: str
    query: dict[str, list[str]]
    body: dict
    had_key: bool
    status: int = 0


@dataclass
class FakeElevenLabs:
    """Start with `with FakeElevenLabs(api_key="k") as fake:`; point the SDK at `fake.base_url`."""

    api_key: str = "test-key"
    requests: list[Recorded] = field(default_factory=list)
    _queue: list[Injected] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, status: int, times: int = 1, retry_after: str | None = None) -> None:
        with self._lock:
            self._queue.extend(Injected(status, retry_after) for _ in range(times))

    def _take_failure(self) -> Injected | None:
        with self._lock:
            return self._queue.pop(0) if self._queue else None

    def __enter__(self) -> FakeElevenLabs:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                fake._handle(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # --- request handling -------------------------------------------------------------------
    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        url = urlparse(handler.path)
        length = int(handler.headers.get("content-length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            body = None
        record = Recorded(url.path, parse_qs(url.query), body if isinstance(body, dict) else {}, bool(handler.headers.get("xi-api-key")))
        self.requests.append(record)

        def reply(status: int, payload: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
            record.status = status
            handler.send_response(status)
            handler.send_header("content-type", content_type)
            handler.send_header("content-length", str(len(payload)))
            for k, v in (headers or {}).items():
                handler.send_header(k, v)
            handler.end_headers()
            handler.wfile.write(payload)

        def error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
            reply(status, json.dumps({"detail": {"status": code, "message": message}}).encode(), "application/json", headers)

        match = PATH.match(url.path)
        if not match:
            return error(404, "not_found", f"no route {url.path}")
        if handler.headers.get("xi-api-key") != self.api_key:
            return error(401, "invalid_api_key", "Invalid API key")
        injected = self._take_failure()
        if injected is not None:
            headers = {"retry-after": injected.retry_after} if injected.retry_after is not None else {}
            codes = {401: "invalid_api_key", 429: "too_many_concurrent_requests", 500: "internal_error"}
            return error(injected.status, codes.get(injected.status, "error"), f"injected {injected.status}", headers)
        if body is None or not isinstance(body.get("text"), str) or not body["text"].strip():
            return reply(422, json.dumps({"detail": [{"loc": ["body", "text"], "msg": "field required", "type": "missing"}]}).encode(), "application/json")
        output_format = (record.query.get("output_format") or ["mp3_44100_128"])[0]
        fmt = FORMAT.match(output_format)
        if not fmt:
            return error(400, "invalid_output_format", f"output_format {output_format!r} is not supported")
        speed = float((body.get("voice_settings") or {}).get("speed") or 1.0)
        samples, rate = speak(body["text"], match.group(1), speed)
        payload, content_type = encode(samples, rate, fmt.group(1), int(fmt.group(2)), int(fmt.group(3) or 128))
        reply(200, payload, content_type, {"request-id": hashlib.sha256(raw).hexdigest()[:16]})


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
