"""A strip of frames from a test video, for the docs: what a policy did, in one PNG.

    python bench/video_strip.py output/kick.mp4 docs/media/g1_kick_strip.png --frames 6
    python bench/video_strip.py output/kick.mp4 out.png --start 0.5 --end 2.5

Frames are taken evenly between ``--start`` and ``--end`` (seconds; default the whole
video), labelled with their time, and laid side by side. Videos come from
``mjmimic test --video`` (policy beside its reference ghost, key bodies over the error
threshold in red).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import imageio.v3 as iio
import numpy as np
from PIL import Image, ImageDraw


def strip(video: Path, out: Path, frames: int, start: float, end: float | None, width: int):
    meta = iio.immeta(video, plugin="pyav") if _has_pyav() else iio.immeta(video)
    fps = float(meta.get("fps", 30.0))
    images = iio.imread(video)  # (T, H, W, 3)
    last = len(images) - 1
    first_i = min(round(start * fps), last)
    last_i = last if end is None else min(round(end * fps), last)
    picks = np.linspace(first_i, last_i, frames).round().astype(int)
    tiles = []
    for i in picks:
        tile = Image.fromarray(images[i])
        tile = tile.resize((width, round(tile.height * width / tile.width)))
        ImageDraw.Draw(tile).text((6, 4), f"t = {i / fps:.2f} s", fill=(255, 255, 255))
        tiles.append(tile)
    sheet = Image.new("RGB", (width * len(tiles), tiles[0].height), "white")
    for k, tile in enumerate(tiles):
        sheet.paste(tile, (k * width, 0))
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    print(f"{out}: {len(tiles)} frames at {', '.join(f'{i / fps:.2f}' for i in picks)} s")


def _has_pyav() -> bool:
    try:
        import av  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--frames", type=int, default=6)
    parser.add_argument("--start", type=float, default=0.0, help="seconds")
    parser.add_argument("--end", type=float, default=None, help="seconds (default: the end)")
    parser.add_argument("--width", type=int, default=320, help="pixels per frame")
    args = parser.parse_args()
    strip(args.video, args.out, args.frames, args.start, args.end, args.width)


if __name__ == "__main__":
    main()
