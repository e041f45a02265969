"""Seconds of clip rendered per wall second by `procedural` at 640x360@25 on one process (goal >= 4.0).

Baseline in the same run: the same renderer repainting the set on every frame instead of painting it
once per shot, which shows what the per-shot plates buy. Voice synthesis is warmed (cached) first, as
in any repeated audit; the figure covers everything else: beds, mix, faults, painting and encoding.

    .venv/bin/python benchmarks/render.py [--suite mini] [--scenes 6] [--preset flawed] [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one process, one core: what the goal is stated for


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--suite", default="default")
    parser.add_argument("--scenes", type=int, default=6)
    parser.add_argument("--preset", default="flawed")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    from generators import build_generator
    from generators.procedural import painter as painter_module
    from scenes import load_suite

    scenes = list(load_suite(args.suite).scenes)[: args.scenes]
    gen = build_generator(f"procedural:{args.preset}")
    with tempfile.TemporaryDirectory() as tmp:
        for scene in scenes:  # warm the voice cache and imports
            gen.render(scene, 0, Path(tmp) / "warm" / scene.id)

        def run(tag: str) -> float:
            best = 0.0
            for r in range(args.repeat):
                clip_s, start = 0.0, time.perf_counter()
                for scene in scenes:
                    clip_s += gen.render(scene, 0, Path(tmp) / tag / str(r) / scene.id).manifest.duration_s
                wall = time.perf_counter() - start
                best = max(best, clip_s / wall)
                print(f"  {tag:9s} run {r + 1}: {clip_s:6.1f} s of clip in {wall:6.2f} s wall = {clip_s / wall:5.2f} s/s")
            return best

        speed = run("plates")
        original = painter_module.Painter.frame
        painter_module.Painter.repaint_every_frame = True
        try:
            baseline = run("repaint")
        finally:
            painter_module.Painter.repaint_every_frame = False
            painter_module.Painter.frame = original
    print(f"procedural:{args.preset} on {len(scenes)} scenes of {args.suite}, 640x360@25, one process:")
    print(f"  {speed:.2f} s of clip per wall second (goal >= 4.0); baseline repainting every frame {baseline:.2f}; "
          f"ratio {speed / baseline:.2f}x")


if __name__ == "__main__":
    main()
