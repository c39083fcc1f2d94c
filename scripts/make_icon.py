#!/usr/bin/env python3
"""Draw the integration's brand icon: a phone handset with call waves.

    python3 scripts/make_icon.py   (needs Pillow, which Home Assistant brings)

Writes custom_components/infocaller/brand/icon.png (256x256) and
icon@2x.png (512x512). Drawn at 2048 px and scaled down for smooth edges.
"""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageDraw

SIZE = 2048
GREEN = (0, 122, 94, 255)
WHITE = (255, 255, 255, 255)
OUT = Path(__file__).parents[1] / "custom_components" / "infocaller" / "brand"


def _handset(draw: ImageDraw.ImageDraw) -> None:
    """A classic receiver: a curved handle with an ear and a mouth piece."""
    cx, cy, radius, width = 1120, 1000, 620, 250
    box = (cx - radius, cy - radius, cx + radius, cy + radius)
    draw.arc(box, start=118, end=242, fill=WHITE, width=width)
    for angle in (118, 242):
        rad = math.radians(angle)
        # The pieces sit at the arc's ends, across the handle.
        px = cx + (radius - width / 2) * math.cos(rad)
        py = cy + (radius - width / 2) * math.sin(rad)
        tx, ty = -math.sin(rad), math.cos(rad)  # tangent
        nx, ny = math.cos(rad), math.sin(rad)  # outward normal
        half_len, depth = 250, 150
        sign = 1 if angle < 180 else -1
        corners = [
            (px + sign * tx * 40 - nx * half_len, py + sign * ty * 40 - ny * half_len),
            (
                px + sign * tx * 40 + nx * half_len * 0.5,
                py + sign * ty * 40 + ny * half_len * 0.5,
            ),
            (
                px + sign * tx * depth + nx * half_len * 0.5,
                py + sign * ty * depth + ny * half_len * 0.5,
            ),
            (
                px + sign * tx * depth - nx * half_len,
                py + sign * ty * depth - ny * half_len,
            ),
        ]
        draw.polygon(corners, fill=WHITE)


def _waves(draw: ImageDraw.ImageDraw) -> None:
    """Three arcs: the call going out."""
    cx, cy = 900, 1000
    for index, radius in enumerate((520, 700, 880)):
        box = (cx - radius, cy - radius, cx + radius, cy + radius)
        draw.arc(box, start=-35, end=35, fill=WHITE, width=110 - index * 10)


def main() -> None:
    """Draw and save both sizes."""
    image = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, SIZE - 1, SIZE - 1), radius=420, fill=GREEN)
    _handset(draw)
    _waves(draw)
    OUT.mkdir(parents=True, exist_ok=True)
    for name, size in (("icon.png", 256), ("icon@2x.png", 512)):
        image.resize((size, size), Image.Resampling.LANCZOS).save(
            OUT / name, optimize=True
        )
        print(f"wrote {OUT / name}")


if __name__ == "__main__":
    main()
