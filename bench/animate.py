"""The Downloads tab's animation: the blog's parabola (51 snapshots) as a GIF, in CPU seconds.

Run from the repository root: `python -m bench.animate [--rounds N] [--lang en|zh]`. Each round
makes the GIF twice in this process, as fitcore.animate does for a caller without a run (the
run trained first) and for the page, whose shared run is already trained; the MP4 is encoded
from the same frames once. Figures are this process's CPU time (vl-convert renders on threads of
its own inside it; ffmpeg is a child process, whose CPU is given apart), the medians of the
rounds. Target: the GIF, training included, in at most 10 s of CPU.
"""

from __future__ import annotations

import argparse
import io
import resource
import statistics
import time

import torch
from PIL import Image

from fitcore import PRESETS
from fitcore import animation as anim
from fitcore.player import SharedRun

TARGET_S = 10.0


def cpu() -> float:
    return time.process_time()


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def one_round(lang: str) -> dict[str, float]:
    cfg = PRESETS["blog-quadratic"]
    began = cpu()
    run = SharedRun(cfg)
    frames = anim.render_frames(cfg, lang=lang, run=run)  # trains the run to its end first
    gif = anim.encode(frames, "gif")
    total = cpu() - began

    began = cpu()
    again = anim.render_frames(cfg, lang=lang, run=run)  # the page's case: the run is trained
    render = cpu() - began
    began = cpu()
    anim.encode(again, "gif")
    encode_gif = cpu() - began

    began, child = cpu(), children_cpu()
    mp4 = anim.encode(frames, "mp4")
    encode_mp4, ffmpeg = cpu() - began, children_cpu() - child

    image = Image.open(io.BytesIO(gif))
    return {
        "frames": image.n_frames,
        "width": image.width,
        "height": image.height,
        "total": total,
        "train": total - render - encode_gif,
        "render": render,
        "per_frame_ms": 1000 * render / image.n_frames,
        "encode_gif": encode_gif,
        "gif_kb": len(gif) / 1024,
        "encode_mp4": encode_mp4,
        "ffmpeg": ffmpeg,
        "mp4_kb": len(mp4) / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--lang", default="en", choices=("en", "zh"))
    args = parser.parse_args()
    torch.set_num_threads(1)  # as the page runs
    one_round(args.lang)  # warm-up: vl-convert's first conversion starts its JavaScript engine
    rounds = [one_round(args.lang) for _ in range(args.rounds)]

    def med(key: str) -> float:
        return statistics.median(r[key] for r in rounds)

    first = rounds[0]
    print(f"blog-quadratic, lang {args.lang}, {args.rounds} rounds (medians, CPU seconds)")
    print(f"  frames {first['frames']}, {first['width']} x {first['height']} px")
    print(
        f"  GIF from scratch: {med('total'):.2f} s (training and one-off renders "
        f"{med('train'):.2f} s, frames {med('render'):.2f} s, encoding "
        f"{med('encode_gif'):.2f} s), target <= {TARGET_S:.0f} s"
    )
    print(f"  per frame: {med('per_frame_ms'):.0f} ms")
    print(f"  GIF from the page's trained run: {med('render') + med('encode_gif'):.2f} s")
    print(f"  GIF size {med('gif_kb'):.0f} KB (limit {anim.MAX_BYTES // 1024} KB)")
    print(
        f"  MP4: {med('encode_mp4'):.2f} s here + {med('ffmpeg'):.2f} s in ffmpeg, "
        f"{med('mp4_kb'):.0f} KB"
    )
    total = med("total")
    print(f"  {'met' if total <= TARGET_S else 'NOT MET'}: {total:.2f} s <= {TARGET_S:.0f} s")


if __name__ == "__main__":
    main()
