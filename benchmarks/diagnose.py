"""Probe diagnosis time over pure PyAV decode time of the same clips (goal <= 2.0).

    .venv/bin/python benchmarks/diagnose.py [--clips 6] [--suite mini] [--store DIR]

Renders (or reuses) clips with `procedural:random`, then for each clip times
(a) a pure PyAV decode: every video frame and audio frame of the file decoded, nothing else, and
(b) the probe judge answering all the clip's items from the file (its own decode included).
Both run in this process, one clip after the other, best of `--repeat` runs each. Wall time is
the measure; the process CPU time of each (all threads) and the load average are printed beside it,
since on a shared machine wall time grows with other people's load. `MTAVG_PROBE_THREADS=1` measures
the judge on one thread (decision 102).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def pure_decode(path: Path) -> int:
    import av

    frames = 0
    with av.open(str(path)) as container:
        streams = [s for s in (container.streams.video[:1] + container.streams.audio[:1])]
        container.streams.video[0].thread_type = "AUTO"
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
    args = parser.parse_args()

    from diagnosers import build_judge
    from diagnosers.media import ClipMedia
    from flows.work import render_clip, store_for, suite_for
    from taxonomy.items import Format
    from taxonomy.qa import scene_items

    store_url = args.store or tempfile.mkdtemp(prefix="mtavg-bench-")
    suite = suite_for(args.suite)
    plan = [(suite.scenes[k % len(suite.scenes)].id, 500 + k // len(suite.scenes)) for k in range(args.clips)]
    refs = [render_clip("procedural:random", args.suite, sid, seed, store_url) for sid, seed in plan]
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
            t, c = time.perf_counter(), time.process_time()
            pure_decode(path)
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


if __name__ == "__main__":
    main()
