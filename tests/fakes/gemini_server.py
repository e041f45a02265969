"""A local HTTP server that behaves like the Gemini API for the endpoints google-genai calls.

Endpoints: resumable upload (`POST /upload/v1beta/files` with `X-Goog-Upload-*` headers, then the
upload URL it returns), `GET /v1beta/files/{id}`, `POST /v1beta/models/{model}:generateContent`.
Answers are computed from the request (see `model.py`: items from the prompt, media probed with
PyAV, a seeded rule or an oracle). Faults are injected per call (`Faults`: a scripted queue or a
seeded rate), and counters record uploads per content hash, calls per item and faults.

Run standalone for a manual end-to-end check: `python -m tests.fakes.gemini_server --port 8765`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

from .base import Fault, Faults, Reply, google_error, json_reply, run_standalone
from .media import synthetic_clip
from .model import Answered, ModelFake, Oracle, probe_streams, spoiled

# re-exported for the tests and benchmarks that import them from here
__all__ = ["FakeGemini", "Fault", "Faults", "Oracle", "synthetic_clip"]


def field_of(obj: dict[str, Any], camel: str) -> Any:
    """A proto-JSON field by its camelCase or snake_case name (the API accepts both, so does the SDK send both)."""
    if camel in obj:
        return obj[camel]
    return obj.get(re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), camel))


def retry_info(delay: str) -> dict[str, str]:
    return {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}


class FakeGemini(ModelFake):
    """The Gemini Developer API's files and generateContent endpoints."""

    def __init__(self, *, file_ttl_s: float = 48 * 3600, processing_polls: int = 1, **kwargs: Any):
        super().__init__(**kwargs)
        self.file_ttl_s = file_ttl_s
        self.processing_polls = processing_polls
        self.sessions: dict[str, dict[str, Any]] = {}
        self.files: dict[str, dict[str, Any]] = {}
        self.file_bytes: dict[str, bytes] = {}
        self.uploads_per_sha: Counter[str] = Counter()
        self.polls: Counter[str] = Counter()
        self.requests: list[dict[str, Any]] = []  # generateContent bodies without contents, plus media parts' metadata

    def _file_json(self, fid: str) -> dict[str, Any]:
        meta = self.files[fid]
        state = "PROCESSING" if self.polls[fid] < self.processing_polls else "ACTIVE"
        return {**meta, "state": state}

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> Reply:
        url = urlparse(path)
        route = url.path
        # the upload session URL is the credential for chunk requests (the SDK sends no key there)
        if "upload_id" not in url.query and headers.get("x-goog-api-key") != self.api_key:
            return google_error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.",
                                [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}])
        self.count(f"{method} {route.split(':')[-1] if ':' in route else route.rsplit('/', 1)[0]}")
        # the SDK picks the API version (v1 or v1beta): serve both
        if method == "POST" and re.fullmatch(r"/upload/v1(beta)?/files", route) and "upload_id" not in url.query:
            return self._upload_start(headers, body)
        if method == "POST" and "upload_id" in url.query:
            return self._upload_chunk(parse_qs(url.query)["upload_id"][0], headers, body)
        m = re.fullmatch(r"/v1(?:beta)?/files/([A-Za-z0-9_-]+)", route)
        if method == "GET" and m:
            return self._get_file(m.group(1))
        m = re.fullmatch(r"/v1(?:beta)?/models/([A-Za-z0-9._-]+):generateContent", route)
        if method == "POST" and m:
            return self._generate(m.group(1), body)
        return google_error(404, "NOT_FOUND", f"no route {method} {route}")

    def _upload_fault(self) -> Reply | None:
        if self.faults.upload_rate and random.Random(time.perf_counter_ns()).random() < self.faults.upload_rate:
            with self.lock:
                self.faults_injected["upload503"] += 1
            return google_error(503, "UNAVAILABLE", "The service is currently unavailable.")
        return None
    def _upload_start(self, headers: Any, body: bytes):
        if headers.get("X-Goog-Upload-Protocol") != "resumable" or headers.get("X-Goog-Upload-Command") != "start":
            return google_error(400, "INVALID_ARGUMENT", "expected a resumable upload start")
        fault = self._upload_fault()
        if fault:
            return fault
        meta = json.loads(body or b"{}").get("file", {})
        sid = uuid.uuid4().hex
        self.sessions[sid] = {
            "size": int(headers.get("X-Goog-Upload-Header-Content-Length") or 0),
            "mime": headers.get("X-Goog-Upload-Header-Content-Type") or meta.get("mimeType"),
            "display": meta.get("displayName"),
            "data": bytearray(),
        }
        upload_url = f"{self.url}/upload/v1/files?upload_id={sid}&upload_protocol=resumable"
        return json_reply(200, {}, {"x-goog-upload-url": upload_url, "x-goog-upload-status": "active"})

    def _upload_chunk(self, sid: str, headers: Any, body: bytes):
        session = self.sessions.get(sid)
        if session is None:
            return google_error(404, "NOT_FOUND", "unknown upload session")
        offset = int(headers.get("X-Goog-Upload-Offset") or -1)
        if offset != len(session["data"]):
            return google_error(400, "INVALID_ARGUMENT", f"offset {offset} does not match {len(session['data'])}")
        session["data"] += body
        if "finalize" not in (headers.get("X-Goog-Upload-Command") or ""):
            return json_reply(200, {}, {"x-goog-upload-status": "active"})
        data = bytes(session.pop("data"))
        del self.sessions[sid]
        if session["size"] and len(data) != session["size"]:
            return google_error(400, "INVALID_ARGUMENT", "size mismatch")
        fid = uuid.uuid4().hex[:12]
        sha = hashlib.sha256(data).hexdigest()
        now = datetime.now(UTC)
        with self.lock:
            self.uploads_per_sha[sha] += 1
            self.file_bytes[fid] = data
            self.files[fid] = {
                "name": f"files/{fid}",
                "displayName": session["display"],
                "mimeType": session["mime"],
                "sizeBytes": str(len(data)),
                "createTime": now.isoformat().replace("+00:00", "Z"),
                "expirationTime": (now + timedelta(seconds=self.file_ttl_s)).isoformat().replace("+00:00", "Z"),
                "sha256Hash": sha,
                "uri": f"{self.url}/v1beta/files/{fid}",
                "source": "UPLOADED",
            }
        return json_reply(200, {"file": self._file_json(fid)}, {"x-goog-upload-status": "final"})

    def _get_file(self, fid: str):
        if fid not in self.files:
            return google_error(403, "PERMISSION_DENIED", f"You do not have permission to access the File {fid} or it may not exist.")
        fault = self._upload_fault()
        if fault:
            return fault
        with self.lock:
            self.polls[fid] += 1
        return json_reply(200, self._file_json(fid))

    def _media_seen(self, parts: list[dict[str, Any]]) -> tuple[bool, bool] | tuple[int, dict, bytes]:
        video = audio = False
        for part in parts:
            data = None
            inline, file_data = field_of(part, "inlineData"), field_of(part, "fileData")
            if inline is not None:
                raw = inline["data"]  # the SDK sends URL-safe base64 without padding; the API takes both alphabets
                data = base64.urlsafe_b64decode(raw.replace("+", "-").replace("/", "_") + "=" * (-len(raw) % 4))
            elif file_data is not None:
                fid = field_of(file_data, "fileUri").rsplit("/", 1)[-1]
                if fid not in self.files:
                    return google_error(403, "PERMISSION_DENIED", f"You do not have permission to access the File {fid} or it may not exist.")
                if self._file_json(fid)["state"] != "ACTIVE":
                    return google_error(400, "FAILED_PRECONDITION", f"The File {fid} is not in an ACTIVE state.")
                data = self.file_bytes[fid]
            if data is not None:
                v, a = probe_streams(data)
                video, audio = video or v, audio or a
        return video, audio

    def failure(self, kind: str, model: str, wait_s: float = 0.0) -> Reply:
        if kind == "throttled":
            return google_error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).", [retry_info(f"{wait_s:.3f}s")])
        if kind == "429":
            return google_error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).",
                                [retry_info(f"{self.faults.retry_after_s}s")], {"Retry-After": str(self.faults.retry_after_s)})
        if kind == "quota":
            return google_error(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota, please check your plan and billing details.", [
                {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{
                    "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                    "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier",
                    "quotaDimensions": {"model": model, "location": "global"}, "quotaValue": "250"}]},
                retry_info("43200s")])
        if kind == "500":
            return google_error(500, "INTERNAL", "An internal error has occurred.")
        if kind == "503":
            return google_error(503, "UNAVAILABLE", "The model is overloaded. Please try again later.")
        return google_error(400, "INVALID_ARGUMENT", "fake server: the prompt has no <items> block")

    def record(self, request: dict[str, Any]) -> None:
        parts = [p for c in request.get("contents", []) for p in c.get("parts", [])]
        self.requests.append({k: v for k, v in request.items() if k != "contents"} | {
            "media_parts": [{k: v for k, v in p.items() if k not in ("inlineData", "inline_data")} for p in parts if "text" not in p]})

    def _generate(self, model: str, body: bytes) -> Reply:
        request = json.loads(body)
        parts = [p for c in request.get("contents", []) for p in c.get("parts", [])]
        prompt = "\n".join(p["text"] for p in parts if "text" in p)
        graded = self.grade(prompt)
        if graded is not None:
            return json_reply(200, {"candidates": [{"content": {"parts": [{"text": graded}], "role": "model"}, "finishReason": "STOP"}],
                                    "usageMetadata": {"promptTokenCount": len(prompt) // 4, "candidatesTokenCount": len(graded) // 4}})
        outcome = self.answer_items(request, prompt, model, lambda: self._media_seen([p for p in parts if "text" not in p]))
        if not isinstance(outcome, Answered):
            return outcome
        text, cut = spoiled(outcome.text, outcome.fault)
        usage = {"promptTokenCount": 258 * max(1, len(parts) - 1) + len(prompt) // 4, "candidatesTokenCount": len(text) // 4}
        usage["totalTokenCount"] = usage["promptTokenCount"] + usage["candidatesTokenCount"]
        if outcome.kind == "refusal":
            return json_reply(200, {"candidates": [{"finishReason": "SAFETY", "index": 0, "safetyRatings": [
                {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": True}]}],
                "usageMetadata": {"promptTokenCount": usage["promptTokenCount"], "totalTokenCount": usage["promptTokenCount"]}})
        return json_reply(200, {
            "candidates": [{"content": {"parts": [{"text": text}], "role": "model"}, "finishReason": "MAX_TOKENS" if cut else "STOP", "index": 0}],
            "usageMetadata": usage,
            "modelVersion": model,
        })


def main() -> None:
    run_standalone(lambda args: FakeGemini(faults=Faults(rate=args.fault_rate, seed=args.seed), seed=args.seed, port=args.port),
                   __doc__, 8765, "Gemini", "GEMINI_API_KEY", faults=True)


if __name__ == "__main__":
    main()
