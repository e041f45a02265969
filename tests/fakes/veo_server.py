"""A local HTTP server that behaves like Veo on Vertex AI for the calls google-genai makes.

    POST /v1beta1/publishers/google/models/{model}:predictLongRunning     start (a paid create call)
    POST /v1beta1/publishers/google/models/{model}:fetchPredictOperation  poll {"operationName": ...}

Checks the `x-goog-api-key` header (401 otherwise). An operation finishes after `polls_to_finish`
polls with a real MP4 (H.264 + AAC, a moving test pattern and a tone, as long as asked) inline as
`bytesBase64Encoded`. Failures: a prompt containing `forbidden` is refused at create (400,
INVALID_ARGUMENT, usage guidelines); `filtered` finishes with `raiMediaFilteredCount` and no video;
`scripted` faults (`429`, `500`) answer the next create calls. `creates` counts paid create calls
(accepted ones), `create_attempts` every create request.

Standalone: `python -m tests.fakes.veo_server --port 8123`.
"""

from __future__ import annotations

import argparse
import base64
import json
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np

API_KEY = "test-veo-key"


def render_test_clip(seconds: float, *, width: int = 160, height: int = 96, fps: float = 24.0, seed: int = 0,
                     tone_hz: float = 330.0, sample_rate: int = 48000) -> bytes:
    """A real MP4 with sound: a moving gradient with a bright bar, and a tone, encoded by mux_clip."""
    from generators.mux import mux_clip

    n = max(1, round(seconds * fps))
    yy, xx = np.mgrid[0:height, 0:width]
    base = np.stack([(xx * 255 // max(1, width - 1)), (yy * 255 // max(1, height - 1)),
                     np.full_like(xx, (seed * 37) % 255)], axis=-1).astype(np.uint8)

    def frames():
        for i in range(n):
            img = base.copy()
            x = int((i / n) * (width - 8))
            img[:, x : x + 8] = 255
            yield img

    t = np.arange(round(n / fps * sample_rate)) / sample_rate
    audio = (0.3 * np.sin(2 * np.pi * tone_hz * t)).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "clip.mp4"
        mux_clip(frames(), fps, audio, sample_rate, out, width=width, height=height)
        return out.read_bytes()


@dataclass
class VeoState:
    api_key: str = API_KEY
    polls_to_finish: int = 2
    creates: int = 0
    create_attempts: int = 0
    polls: int = 0
    script: list[str] = field(default_factory=list)  # faults for the next create calls: "429", "500"
    operations: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class VeoHandler(BaseHTTPRequestHandler):
    state: VeoState  # set on the subclass made per server

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, code_name: str, headers: dict[str, str] | None = None) -> None:
        self._send(status, {"error": {"code": status, "message": message, "status": code_name}}, headers)

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        path = self.path.split("?", 1)[0]
        if self.headers.get("x-goog-api-key") != self.state.api_key:
            return self._error(401, "API key not valid. Please pass a valid API key.", "UNAUTHENTICATED")
        if path.endswith(":predictLongRunning"):
            return self._create(path, body)
        if path.endswith(":fetchPredictOperation"):
            return self._poll(body)
        return self._error(404, f"no route {path}", "NOT_FOUND")

    def _create(self, path: str, body: dict[str, Any]) -> None:
        st = self.state
        with st.lock:
            st.create_attempts += 1
            st.requests.append(body)
            fault = st.script.pop(0) if st.script else None
        if fault == "429":
            return self._error(429, "Quota exceeded for video generation.", "RESOURCE_EXHAUSTED", {"retry-after": "0"})
        if fault == "500":
            return self._error(500, "Internal error encountered.", "INTERNAL")
        prompt = body["instances"][0].get("prompt", "")
        if "forbidden" in prompt.lower():
            return self._error(400, "The prompt could not be submitted. This prompt contains words that violate "
                               "Vertex AI's usage guidelines.", "INVALID_ARGUMENT")
        model_path = path.removeprefix("/v1beta1/").rsplit(":", 1)[0]
        name = f"{model_path}/operations/{uuid.uuid4()}"
        params = body.get("parameters", {})
        with st.lock:
            st.creates += 1
            st.operations[name] = {"prompt": prompt, "seconds": float(params.get("durationSeconds", 8)),
                                   "seed": int(params.get("seed", 0)), "polls": 0,
                                   "audio": bool(params.get("generateAudio", False))}
        self._send(200, {"name": name})

    def _poll(self, body: dict[str, Any]) -> None:
        st = self.state
        name = body.get("operationName", "")
        with st.lock:
            st.polls += 1
            op = st.operations.get(name)
            if op is not None:
                op["polls"] += 1
        if op is None:
            return self._error(404, f"operation {name} not found", "NOT_FOUND")
        if op["polls"] < st.polls_to_finish:
            return self._send(200, {"name": name, "done": False})
        response: dict[str, Any] = {"@type": "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse"}
        if "filtered" in op["prompt"].lower():
            response.update(raiMediaFilteredCount=1, raiMediaFilteredReasons=[
                "Unable to generate videos because the output was flagged by safety filters (support code 58061214)."])
        else:
            clip = render_test_clip(op["seconds"], seed=op["seed"])
            response["videos"] = [{"bytesBase64Encoded": base64.b64encode(clip).decode(), "mimeType": "video/mp4"}]
        self._send(200, {"name": name, "done": True, "response": response})


class VeoServer:
    """The fake in a background thread on 127.0.0.1 (port 0 = any free port)."""

    def __init__(self, port: int = 0, **state: Any):
        self.state = VeoState(**state)
        handler = type("Handler", (VeoHandler,), {"state": self.state})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}/"

    def __enter__(self) -> VeoServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8123)
    args = parser.parse_args()
    with VeoServer(args.port) as server:
        print(f"fake Veo on {server.base_url} (GOOGLE_API_KEY={API_KEY})", flush=True)
        server.thread.join()


if __name__ == "__main__":
    main()
