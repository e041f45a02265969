"""What Veo and Sora share: segments, the paid-request lifecycle with its journal, the clip manifest.

A scene longer than the provider's longest clip is cut into segments of whole shots (planned
timeline); each segment is one paid request with the script-derived prompt of its shots. Requests
are keyed by (clip key, segment), so the same scene, seed and config never pay twice: a finished
request's video is kept in the store, a submitted one is polled again after a crash, and a refused
one stays refused (`Clip.status = failed` with the provider's reason, which the profile reports).
Transient trouble (429, 5xx after the SDK's retries, polling time-outs) raises `GenerationError`
and leaves nothing marked done, so the next run picks up where this one stopped.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from generators.api.journal import JobRecord, JobState, Journal
from generators.base import Clip, ClipStatus, LineTiming, Rendered, ShotTiming, clip_key, config_hash
from generators.prompts import DEFAULT_NEGATIVE_PROMPT, scene_prompt
from scenes import Scene, Span, plan_timeline
from storage import ComponentSpec, Store, sha256_file


class GenerationError(RuntimeError):
    """A transient or operational failure: nothing is cached as done; rerun to resume."""


class PolicyBlocked(Exception):
    """The provider refused the request or its output (content policy, safety filter)."""


class RequestRejected(Exception):
    """The provider answered the create call with an error: the request was not accepted (not billed)."""


@dataclass
class PollResult:
    done: bool
    failure: str | None = None
    payload: Any = None


class Provider(Protocol):
    """The three calls of a long-running video API."""

    def submit(self, prompt: str, seconds: int, seed: int) -> str: ...

    def poll(self, job_id: str) -> PollResult: ...

    def fetch(self, job_id: str, result: PollResult) -> bytes: ...


class ApiConfig(BaseModel):
    """Settings shared by API generators; fields marked `exclude` are operational, not identity."""

    model_config = ConfigDict(extra="forbid")

    model: str
    negative_prompt: str = DEFAULT_NEGATIVE_PROMPT
    max_prompt_chars: int = Field(4000, ge=200, le=20000)
    # operational: left out of model_dump, so of the config hash and clip keys (a new port is not a new version)
    price_per_second_usd: float = Field(0.0, ge=0.0, exclude=True, description="list price, for cost_usd")
    base_url: str | None = Field(None, exclude=True, description="API endpoint (tests point it at a local server)")
    api_key_env: str = Field("", exclude=True, description="env var holding the API key")
    poll_interval_s: float = Field(10.0, ge=0.0, le=600.0, exclude=True)
    timeout_s: float = Field(1800.0, gt=0.0, exclude=True, description="give up polling (the job stays resumable)")
    max_retries: int = Field(2, ge=0, le=10, exclude=True, description="SDK retries on 429/5xx")
    resubmit_unconfirmed: bool = Field(
        False, exclude=True, description="resubmit a request whose create call never returned (may pay twice)"
    )
    store: str | None = Field(None, exclude=True, description="store URL for the journal (default: the run's store)")
    claim_wait_s: float = Field(
        60.0, ge=0.0, exclude=True, description="how long to wait for another process's create call to return"
    )


def api_key(config: ApiConfig, provider: str) -> str:
    key = os.environ.get(config.api_key_env, "")
    if not key:
        raise GenerationError(f"{provider}: set {config.api_key_env} to the API key (it is read from the environment only)")
    return key


@dataclass(frozen=True)
class Segment:
    index: int
    shots: tuple[int, ...]
    start: float  # planned start in the scene timeline
    end: float
    seconds: int  # duration asked of the provider


def plan_segments(scene: Scene, allowed_seconds: tuple[int, ...]) -> list[Segment]:
    """Whole shots grouped greedily into segments no longer than the provider's longest clip."""
    timeline = plan_timeline(scene)
    longest = max(allowed_seconds)
    groups: list[list[int]] = []
    for s, span in enumerate(timeline.shots):
        if groups and span.end - timeline.shots[groups[-1][0]].start <= longest:
            groups[-1].append(s)
        else:
            groups.append([s])
    out = []
    for i, group in enumerate(groups):
        start, end = timeline.shots[group[0]].start, timeline.shots[group[-1]].end
        seconds = next((d for d in sorted(allowed_seconds) if d >= end - start - 1e-6), longest)
        out.append(Segment(i, tuple(group), start, end, seconds))
    return out


def segment_prompt(scene: Scene, segment: Segment, max_chars: int) -> str:
    """The scene prompt restricted to the segment's shots and lines (the cast and setting stay)."""
    if len(segment.shots) == len(scene.shots):
        return scene_prompt(scene, max_chars)
    shots = [scene.shots[s] for s in segment.shots]
    keep = sorted(i for shot in shots for i in shot.lines)
    remap = {old: new for new, old in enumerate(keep)}
    lines = [scene.lines[i] for i in keep] or [scene.lines[0]]
    new_shots = [shot.model_copy(update={"lines": [remap[i] for i in shot.lines]}) for shot in shots]
    sounds = [c.model_copy(update={"at_line": remap[c.at_line]}) for c in scene.atmosphere.sounds if c.at_line in remap]
    part = scene.model_copy(update={"lines": lines, "shots": new_shots,
                                    "atmosphere": scene.atmosphere.model_copy(update={"sounds": sounds})})
    return scene_prompt(part, max_chars)


class ApiVideoGenerator:
    """Renders a scene through a long-running video API, one journaled request per segment."""

    name = "api"
    allowed_seconds: tuple[int, ...] = (8,)

    def __init__(self, config: ApiConfig, spec: ComponentSpec, store: Store | None = None):
        self.config = config
        self.spec = spec
        self.version = f"{config.model}+{config_hash(config)[:8]}"
        self._store = store
        self._provider: Provider | None = None

    @property
    def store(self) -> Store:
        """The journal's store: the one the caller passed (`store=`), else `config.store`, else the default."""
        if self._store is None:
            self._store = Store(self.config.store)
        return self._store

    @property
    def journal(self) -> Journal:
        return Journal(self.store, self.name)

    def make_provider(self) -> Provider:
        raise NotImplementedError

    @property
    def provider(self) -> Provider:
        if self._provider is None:
            self._provider = self.make_provider()
        return self._provider

    # -- one paid request -------------------------------------------------------------------------
    def ensure_video(self, request_key: str, prompt: str, seconds: int, seed: int) -> JobRecord:
        """The request's record once it is done or failed; pays at most once per request key."""
        record = self.journal.get(request_key)
        if record and record.state is JobState.done and record.artifact and self.store.exists(record.artifact):
            return record
        if record and record.state is JobState.failed:
            return record
        if record is None or record.state is JobState.submitting or not record.job_id:
            if self.journal.claim(request_key):
                record = self._submit(request_key, prompt, seconds, seed)
            else:
                record = self._await_other_submitter(request_key)
                if record is None and self.journal.claim(request_key):  # the other submitter gave up
                    record = self._submit(request_key, prompt, seconds, seed)
                elif record is None or record.state is JobState.submitting:
                    if not self.config.resubmit_unconfirmed:
                        raise GenerationError(
                            f"{self.name}: request {request_key} was sent but its create call never returned "
                            "(crash?); check the provider's console, then rerun with resubmit_unconfirmed=true "
                            "to send it again"
                        )
                    self.journal.release(request_key)
                    self.journal.claim(request_key)
                    record = self._submit(request_key, prompt, seconds, seed)
            if record.state in (JobState.failed, JobState.done):
                return record
        return self._wait(record)

    def _await_other_submitter(self, request_key: str) -> JobRecord | None:
        """Another process holds the claim: wait (while the claim is fresh) for its job id to appear."""
        while True:
            record = self.journal.get(request_key)
            if record is not None and record.state is not JobState.submitting:
                return record
            if self.journal.claim_age(request_key) >= self.config.claim_wait_s:
                return record
            time.sleep(min(0.1, self.config.claim_wait_s))

    def _submit(self, request_key: str, prompt: str, seconds: int, seed: int) -> JobRecord:
        record = self.journal.put(JobRecord(provider=self.name, model=self.config.model, request_key=request_key,
                                            state=JobState.submitting, seconds=seconds))
        try:
            job_id = self.provider.submit(prompt, seconds, seed)
        except PolicyBlocked as exc:
            record.state, record.failure = JobState.failed, f"policy: {exc}"
            return self.journal.put(record)
        except RequestRejected as exc:
            self._forget(request_key)  # the provider said no: nothing in flight
            raise GenerationError(f"{self.name}: create request rejected: {exc}") from exc
        except Exception as exc:
            if not _never_sent(exc):
                raise  # time-outs and dropped connections stay `submitting`: the provider may have it
            self._forget(request_key)
            raise GenerationError(f"{self.name}: cannot reach the API: {exc}") from exc
        record.state, record.job_id, record.submitted_at = JobState.submitted, job_id, time.time()
        return self.journal.put(record)

    def _forget(self, request_key: str) -> None:
        self.store.delete(self.journal.key(request_key))
        self.journal.release(request_key)

    def _wait(self, record: JobRecord) -> JobRecord:
        deadline = time.monotonic() + self.config.timeout_s
        while True:
            try:
                result = self.provider.poll(record.job_id)
            except (RequestRejected, PolicyBlocked) as exc:
                raise GenerationError(f"{self.name}: polling {record.job_id} failed: {exc}") from exc
            record.polls += 1
            if result.failure:
                record.state, record.failure = JobState.failed, result.failure
                return self.journal.put(record)
            if result.done:
                try:
                    data = self.provider.fetch(record.job_id, result)
                except PolicyBlocked as exc:
                    record.state, record.failure = JobState.failed, f"policy: {exc}"
                    return self.journal.put(record)
                except RequestRejected as exc:
                    raise GenerationError(f"{self.name}: download of {record.job_id} failed: {exc}") from exc
                record.artifact = self.journal.artifact_key(record.request_key)
                self.store.put_bytes(record.artifact, data)
                record.state = JobState.done
                return self.journal.put(record)
            if time.monotonic() >= deadline:
                self.journal.put(record)
                raise GenerationError(
                    f"{self.name}: job {record.job_id} still running after {self.config.timeout_s:.0f} s; "
                    "rerun to resume polling (it will not be submitted again)"
                )
            time.sleep(self.config.poll_interval_s)

    # -- the clip ---------------------------------------------------------------------------------
    def render(self, scene: Scene, seed: int, workdir: Path) -> Rendered:
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        key = clip_key(self, scene, seed)
        segments = plan_segments(scene, self.allowed_seconds)
        records = []
        for seg in segments:
            prompt = segment_prompt(scene, seg, self.config.max_prompt_chars)
            records.append(self.ensure_video(f"{key}-s{seg.index}", prompt, seg.seconds, seed))
        base = dict(clip_key=key, generator=self.spec.label, generator_name=self.name, generator_version=self.version,
                    config_hash=config_hash(self.config), scene=scene.id, scene_hash=scene.content_hash(), seed=seed,
                    timings="planned", cost_usd=round(sum(r.seconds for r in records if r.state is JobState.done)
                                                      * self.config.price_per_second_usd, 4),
                    extra={"model": self.config.model, "jobs": [r.job_id for r in records],
                           "segments": [list(s.shots) for s in segments]})
        failed = [r for r in records if r.state is JobState.failed]
        if failed:
            manifest = Clip(**base, status=ClipStatus.failed, video=None,
                            failure="; ".join(f"segment {r.request_key.rsplit('-s', 1)[-1]}: {r.failure}" for r in failed))
            return self._finish(workdir, None, manifest)
        video = workdir / "clip.mp4"
        paths = [self.store.local_path(r.artifact) if self.store.is_local else self._download(r.artifact, workdir)
                 for r in records]
        starts = concat_clips(paths, video)
        from generators.mux import ClipProbeError, probe_clip

        try:
            info = probe_clip(video)
        except ClipProbeError as exc:  # a delivery without sound or undecodable is the provider's failure, not ours
            manifest = Clip(**base, status=ClipStatus.failed, video=None, failure=f"unusable delivery: {exc}")
            return self._finish(workdir, None, manifest)
        lines, shots = segment_timings(scene, segments, starts)
        manifest = Clip(**base, video=video.name, sha256=sha256_file(str(video)), fps=float(info["fps"]),
                        width=int(info["width"]), height=int(info["height"]), duration_s=float(info["duration_s"]),
                        sample_rate=int(info["sample_rate"]), lines=lines, shots=shots)
        return self._finish(workdir, video, manifest)

    def _download(self, artifact: str, workdir: Path) -> Path:
        path = workdir / f".seg-{Path(artifact).parent.name}.mp4"
        path.write_bytes(self.store.get_bytes(artifact))
        return path

    @staticmethod
    def _finish(workdir: Path, video: Path | None, manifest: Clip) -> Rendered:
        (workdir / "manifest.json").write_text(manifest.model_dump_json(indent=1))
        return Rendered(video_path=video, manifest=manifest, files={"manifest": workdir / "manifest.json"})


def _never_sent(exc: BaseException) -> bool:
    """True for errors raised before a request left this machine (connection refused, bad host).

    Matched by name along the cause chain: the SDKs wrap different HTTP stacks (httpx, httpx2, httpcore).
    """
    while exc is not None:
        if isinstance(exc, ConnectionRefusedError) or type(exc).__name__ == "ConnectError":
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def segment_timings(scene: Scene, segments: list[Segment], starts: list[float]) -> tuple[list[LineTiming], list[ShotTiming]]:
    """Planned line and shot times, each segment's shifted to where its video starts in the joined clip."""
    timeline = plan_timeline(scene)
    lines: list[LineTiming] = []
    shots: list[ShotTiming] = []

    def moved(span: Span, seg: Segment, offset: float) -> tuple[float, float]:
        return round(span.start - seg.start + offset, 3), round(span.end - seg.start + offset, 3)

    for seg, offset in zip(segments, starts):
        for s in seg.shots:
            shot = scene.shots[s]
            a, b = moved(timeline.shots[s], seg, offset)
            shots.append(ShotTiming(index=s, start=a, end=b, size=shot.size.value, angle=shot.angle.value,
                                    movement=shot.movement.value, subjects=list(shot.subjects)))
            for i in shot.lines:
                a, b = moved(timeline.lines[i], seg, offset)
                lines.append(LineTiming(index=i, speaker=scene.lines[i].speaker, start=a, end=b))
    return lines, shots


def concat_clips(paths: list[Path], out: Path) -> list[float]:
    """Join delivered segments into one clip; returns each segment's start time in it.

    One segment is copied as delivered (the vendor's own encode is what gets judged); several are
    decoded with PyAV and re-encoded through `generators.mux.mux_clip` at the first one's size and rate.
    """
    if len(paths) == 1:
        shutil.copyfile(paths[0], out)
        return [0.0]
    import av
    import cv2

    from generators.mux import mux_clip

    sample_rate = 48000
    with av.open(str(paths[0])) as first:
        vs = first.streams.video[0]
        fps = float(vs.average_rate or 24)
        width, height = vs.codec_context.width, vs.codec_context.height
    counts = [_count_frames(p) for p in paths]
    starts = [sum(counts[:i]) / fps for i in range(len(paths))]
    audio = np.concatenate([_decode_audio(p, sample_rate, round(n / fps * sample_rate)) for p, n in zip(paths, counts)])

    def frames():  # streamed: a long scene never sits in memory as frames
        for path in paths:
            with av.open(str(path)) as container:
                for frame in container.decode(video=0):
                    img = frame.to_ndarray(format="rgb24")
                    if img.shape[:2] != (height, width):
                        img = cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)
                    yield img

    mux_clip(frames(), fps, audio, sample_rate, out, width=width, height=height)
    return starts


def _count_frames(path: Path) -> int:
    import av

    with av.open(str(path)) as container:
        return sum(1 for _ in container.demux(video=0) if _.size)


def _decode_audio(path: Path, sample_rate: int, n_samples: int) -> np.ndarray:
    """Mono float32 audio of a clip at `sample_rate`, padded or cut to `n_samples` (silence if none)."""
    import av

    out = np.zeros(n_samples, dtype=np.float32)
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return out
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        pos = 0
        for frame in container.decode(audio=0):
            for rf in resampler.resample(frame):
                chunk = rf.to_ndarray().reshape(-1)
                take = min(len(chunk), n_samples - pos)
                if take > 0:
                    out[pos : pos + take] = chunk[:take]
                pos += len(chunk)
    return out
