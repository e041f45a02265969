"""Probe diagnosis time over pure PyAV decode time of the same clips (goal <= 2.0).

    .venv/bin/python benchmarks/diagnose.py [--clips 6] [--suite mini] [--store DIR] [--parts]

Renders (or reuses) clips with `procedural:random` (`--generator`), then for each clip times
(a) a pure PyAV decode: every video frame and audio frame of the file decoded, nothing else (the faster
of FFmpeg's default decoder threads and the judge's `DECODE_THREADS`, so that the judge's thread setting
does not flatter the ratio), and
(b) the probe judge answering all the clip's items from the file (its own decode included).
Both run in this process, one clip after the other, best of `--repeat` runs each. Wall time is
the measure; the process CPU time of each (all threads) and the load average are printed beside it,
since on a shared machine wall time grows with other people's load. `MTAVG_PROBE_THREADS=1` measures
the judge on one thread (decision 102). `--parts` also times, on fresh media of the same clips, the
shared parts every run needs whatever the probes (our decode, Silero speech probabilities, face tracks,
the line aligner plus Resemblyzer embeddings), each over the pure decode: the floor of the ratio.

The ratio depends on the picture size: the judge reads every clip at 320x180 (plus a 640-wide luma), so
its own work hardly grows with the source while the pure decode grows with its pixels. `--sizes
640x360,1280x720,1920x1080` renders the same scenes and seeds at each size (the generator's `width` and
`height`) and prints one ratio per size (decision 223); the default is the generator's own size.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def pure_decode(path: Path, threads: int | None = None) -> int:
    """Every video and audio frame decoded, nothing else; `threads`: FFmpeg's decoder threads (None: its default)."""
    import av

    frames = 0
    with av.open(str(path)) as container:
        streams = [s for s in (container.streams.video[:1] + container.streams.audio[:1])]
        container.streams.video[0].thread_type = "AUTO"
        if threads:
            container.streams.video[0].codec_context.thread_count = threads
        for packet in container.demux(streams):
            for _ in packet.decode():
                frames += 1
    return frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=6)
    parser.add_argument("--suite", default="mini")
    parser.add_argument("--store", default=None, help="store folder (default: a temporary one)")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--parts", action="store_true", help="also time the shared parts (decode, speech, faces, voices)")
    parser.add_argument("--generator", default="procedural:random", help="generator spec the clips are rendered with")
    parser.add_argument("--sizes", default=None, help="comma-separated WxH picture sizes, each rendered and timed "
                        "(e.g. 640x360,1280x720,1920x1080); default: the generator's own")
    args = parser.parse_args()
    sizes = [_size(s) for s in args.sizes.split(",")] if args.sizes else [None]
    store_url = args.store or tempfile.mkdtemp(prefix="mtavg-bench-")
    ratios = []
    for size in sizes:
        spec = args.generator if size is None else _sized(args.generator, *size)
        if len(sizes) > 1:
            print(f"== {spec}")
        ratios.append(measure(spec, store_url, args))
    if len(sizes) > 1:
        print("probe diagnosis / pure decode by picture size (goal <= 2.0): "
              + ", ".join(f"{w}x{h} {r:.2f}" for (w, h), r in zip(sizes, ratios)))


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise SystemExit(f"--sizes: {text!r} is not WIDTHxHEIGHT (e.g. 1280x720)") from None
    return w, h


def _sized(spec: str, width: int, height: int) -> str:
    """The generator spec with its picture size set (`procedural:random?width=1280&height=720`)."""
    return f"{spec}{'&' if '?' in spec else '?'}width={width}&height={height}"


def measure(spec: str, store_url: str, args: argparse.Namespace) -> float:
    """Render (or reuse) the clips with `spec`, print per-clip and total timings; the total ratio."""
    from diagnosers import build_judge
    from diagnosers.decode import DECODE_THREADS
    from diagnosers.media import ClipMedia
    from flows.work import render_clip, store_for, suite_for
    from taxonomy.items import Format
    from taxonomy.qa import scene_items

    suite = suite_for(args.suite)
    plan = [(suite.scenes[k % len(suite.scenes)].id, 500 + k // len(suite.scenes)) for k in range(args.clips)]
    refs = [render_clip(spec, args.suite, sid, seed, store_url) for sid, seed in plan]
    store = store_for(store_url)
    judge = build_judge("probes")
    # warm the models (silero, resemblyzer) so one-off loading is not charged to the first clip
    first = suite.scene(plan[0][0])
    judge.answer(ClipMedia.open(store.local_path(refs[0].video_key), first, **judge.media_options),
                 [i for i in scene_items(first) if i.format is not Format.pairwise])
    decode_s = probe_s = clip_s = decode_cpu = probe_cpu = 0.0
    items_total = 0
    for (sid, _), ref in zip(plan, refs):
        path = store.local_path(ref.video_key)
        scene = suite.scene(sid)
        items = [i for i in scene_items(scene) if i.format is not Format.pairwise]
        best_decode = best_probe = cpu_decode = cpu_probe = float("inf")
        for _ in range(args.repeat):
            for threads in (None, DECODE_THREADS):  # the faster of FFmpeg's default threads and the judge's
                t, c = time.perf_counter(), time.process_time()
                pure_decode(path, threads)
                best_decode = min(best_decode, time.perf_counter() - t)
                cpu_decode = min(cpu_decode, time.process_time() - c)
            t, c = time.perf_counter(), time.process_time()
            media = ClipMedia.open(path, scene, **judge.media_options)
            verdicts = judge.answer(media, items)
            best_probe = min(best_probe, time.perf_counter() - t)
            cpu_probe = min(cpu_probe, time.process_time() - c)
        decode_s += best_decode
        probe_s += best_probe
        decode_cpu += cpu_decode
        probe_cpu += cpu_probe
        clip_s += ref.duration_s
        items_total += len(verdicts)
        print(f"{sid:24s} {ref.duration_s:5.1f} s clip  decode {best_decode:6.3f} s  probes {best_probe:6.3f} s  "
              f"ratio {best_probe / best_decode:5.2f}  ({len(items)} items)")
    print(f"total: {args.clips} clips, {clip_s:.1f} s of clip, {items_total} items; pure PyAV decode {decode_s:.2f} s, "
          f"probe diagnosis {probe_s:.2f} s")
    print(f"cpu time (all threads): pure decode {decode_cpu:.2f} s, probe diagnosis {probe_cpu:.2f} s, ratio {probe_cpu / decode_cpu:.2f}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"probe diagnosis / pure decode = {probe_s / decode_s:.2f} (goal <= 2.0)")
    if args.parts:
        parts = time_parts([(store.local_path(ref.video_key), suite.scene(sid)) for (sid, _), ref in zip(plan, refs)],
                           judge.media_options, args.repeat)
        print("shared parts over pure decode (best of each, summed over the clips): "
              + ", ".join(f"{name} {t / decode_s:.2f}" for name, t in parts.items())
              + f"; together {sum(parts.values()) / decode_s:.2f}")
    return probe_s / decode_s


def time_parts(clips: list, media_options: dict, repeat: int) -> dict[str, float]:
    """Seconds of each shared part, best of `repeat` per clip on fresh media, summed over the clips."""
    from diagnosers.media import ClipMedia
    from diagnosers.probes.face_tracking import face_tracks
    from diagnosers.probes.features import speech_probs
    from diagnosers.probes.voice import line_embeddings

    steps = {
        "our decode": lambda m: (m.frames, m.audio, m.luma),
        "silero speech": speech_probs,
        "face tracks": face_tracks,
        "aligner + resemblyzer": line_embeddings,
    }
    total = dict.fromkeys(steps, 0.0)
    for path, scene in clips:
        best = dict.fromkeys(steps, float("inf"))
        for _ in range(repeat):
            media = ClipMedia.open(path, scene, **media_options)
            for name, step in steps.items():  # in order: each later step reuses the earlier ones' features
                t = time.perf_counter()
                step(media)
                best[name] = min(best[name], time.perf_counter() - t)
        for name in steps:
            total[name] += best[name]
    return total


if __name__ == "__main__":
    main()
