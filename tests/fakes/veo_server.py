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

import base64
import json
import uuid
from typing import Any

from .base import Reply, google_error, json_reply, run_standalone
from .media import render_test_clip
from .video import VideoJobFake

__all__ = ["API_KEY", "VeoServer", "render_test_clip"]  # render_test_clip re-exported for older imports

API_KEY = "test-veo-key"


class VeoServer(VideoJobFake):
    """Veo's long-running predict and fetch-operation calls."""

    api_key = API_KEY
    url_suffix = "/"

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.operations: dict[str, dict[str, Any]] = {}

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> Reply:
        path = path.split("?", 1)[0]
        if headers.get("x-goog-api-key") != self.api_key:
            return google_error(401, "UNAUTHENTICATED", "API key not valid. Please pass a valid API key.")
        if method == "POST" and path.endswith(":predictLongRunning"):
            return self._create(path, json.loads(body or b"{}"))
        if method == "POST" and path.endswith(":fetchPredictOperation"):
            return self._poll(json.loads(body or b"{}"))
        return google_error(404, "NOT_FOUND", f"no route {path}")

    def _create(self, path: str, body: dict[str, Any]) -> Reply:
        fault = self.attempt_create(body)
        if fault == "429":
            return google_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded for video generation.", headers={"retry-after": "0"})
        if fault == "500":
            return google_error(500, "INTERNAL", "Internal error encountered.")
        prompt = body["instances"][0].get("prompt", "")
        if "forbidden" in prompt.lower():
            return google_error(400, "INVALID_ARGUMENT", "The prompt could not be submitted. This prompt contains words that "
                                "violate Vertex AI's usage guidelines.")
        model_path = path.removeprefix("/v1beta1/").rsplit(":", 1)[0]
        name = f"{model_path}/operations/{uuid.uuid4()}"
        params = body.get("parameters", {})
        with self.lock:
            self.creates += 1
            self.operations[name] = {"prompt": prompt, "seconds": float(params.get("durationSeconds", 8)),
                                     "seed": int(params.get("seed", 0)), "polls": 0,
                                     "audio": bool(params.get("generateAudio", False))}
        return json_reply(200, {"name": name})

    def _poll(self, body: dict[str, Any]) -> Reply:
        name = body.get("operationName", "")
        with self.lock:
            self.polls += 1
            op = self.operations.get(name)
            if op is not None:
                op["polls"] += 1
        if op is None:
            return google_error(404, "NOT_FOUND", f"operation {name} not found")
        if op["polls"] < self.polls_to_finish:
            return json_reply(200, {"name": name, "done": False})
        response: dict[str, Any] = {"@type": "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse"}
        if "filtered" in op["prompt"].lower():
            response.update(raiMediaFilteredCount=1, raiMediaFilteredReasons=[
                "Unable to generate videos because the output was flagged by safety filters (support code 58061214)."])
        else:
            clip = render_test_clip(op["seconds"], seed=op["seed"])
            response["videos"] = [{"bytesBase64Encoded": base64.b64encode(clip).decode(), "mimeType": "video/mp4"}]
        return json_reply(200, {"name": name, "done": True, "response": response})


def main() -> None:
    run_standalone(lambda args: VeoServer(port=args.port), __doc__, 8123, "Veo", "GOOGLE_API_KEY")


if __name__ == "__main__":
    main()
