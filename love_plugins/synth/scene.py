"""Scenes of the synthetic suite: what is in a clip, sampled from a seed and rendered with numpy.

A scene is deliberately simple and large (1-3 identical flat shapes, each >= 1/4 of the shorter side,
moving together at constant speed) so that every attribute a prompt or a question talks about can be
read off 64x64 squashed frames by a tiny model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

# Background and object colours are far apart in RGB so that they survive squashing, yuv420p chroma
# subsampling and the colour-shift degradation.
BACKGROUNDS: dict[str, tuple[int, int, int]] = {
    "black": (0, 0, 0),
    "gray": (128, 128, 128),
    "navy": (0, 0, 110),
    "dark green": (0, 85, 0),
}
OBJECT_COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "green": (40, 210, 40),
    "blue": (50, 90, 255),
    "yellow": (240, 230, 40),
    "white": (245, 245, 245),
    "purple": (160, 40, 210),
}
SHAPES: tuple[str, ...] = ("circle", "square", "triangle")
MOTIONS: tuple[str, ...] = ("left", "right", "up", "down", "still")
COUNTS: tuple[int, ...] = (1, 2, 3)

# Colour pairs too close to tell apart after degradation are never drawn together.
_CLASHES = {("green", "dark green"), ("blue", "navy")}

# Unit direction of each motion in image coordinates (x right, y down).
_DIRECTIONS = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1), "still": (0, 0)}


@dataclass(frozen=True)
class Scene:
    """The true content of one clip; positions are object centres in pixels of the rendered frame."""

    background: str
    color: str
    shape: str
    count: int
    motion: str
    size: float  # side of the shape's bounding box, pixels
    starts: tuple[tuple[float, float], ...]  # centre (x, y) of each object in the first frame
    ends: tuple[tuple[float, float], ...]  # centre (x, y) of each object in the last frame

    def to_dict(self) -> dict:
        out = asdict(self)
        out["starts"] = [list(p) for p in self.starts]
        out["ends"] = [list(p) for p in self.ends]
        return out

    @classmethod
    def from_dict(cls, data: dict) -> Scene:
        fields = {k: data[k] for k in cls.__dataclass_fields__}
        fields["starts"] = tuple(tuple(p) for p in fields["starts"])
        fields["ends"] = tuple(tuple(p) for p in fields["ends"])
        return cls(**fields)

    def centers(self, t: float) -> list[tuple[float, float]]:
        """Object centres at clip time t in [0, 1] (linear: constant speed)."""
        return [
            (sx + t * (ex - sx), sy + t * (ey - sy)) for (sx, sy), (ex, ey) in zip(self.starts, self.ends)
        ]


def sample_scene(rng: np.random.Generator, width: int, height: int) -> Scene:
    """Draw a scene whose objects stay fully inside a width x height frame for the whole clip.

    Objects measure 27-36 % of the shorter frame side, so a tiny model still sees them at 64x64.

    Objects sit side by side across the motion axis (a column when moving left/right, a row when
    moving up/down) so several of them never overlap and all travel 50-80 % of the free span.
    """
    background = str(rng.choice(list(BACKGROUNDS)))
    color = str(rng.choice([c for c in OBJECT_COLORS if (c, background) not in _CLASHES]))
    shape = str(rng.choice(SHAPES))
    count = int(rng.choice(COUNTS))
    motion = str(rng.choice(MOTIONS))

    dx, dy = _DIRECTIONS[motion]
    if motion == "still":
        column = bool(rng.integers(2))  # layout of several still objects: column or row
    else:
        column = dx != 0  # horizontal motion -> objects stacked vertically
    across = height if column else width  # span available for the layout
    along = width if column else height  # span available for the motion
    # Size 27-36 % of the shorter frame side (the height in landscape), less if the layout needs it;
    # even three objects with 15 % gaps fit at the minimum size (3.3 * 0.27 < 0.95).
    gap_frac = 0.15
    short = min(width, height)
    max_size = min(0.36 * short, 0.95 * across / (count + gap_frac * (count - 1)))
    size = float(rng.uniform(0.27 * short, max_size))

    # Across the motion axis: evenly spaced block placed at a random offset.
    block = count * size + (count - 1) * gap_frac * size
    offset = float(rng.uniform(0.0, max(0.0, across - block)))
    across_centres = [offset + size / 2 + k * size * (1 + gap_frac) for k in range(count)]

    # Along the motion axis: travel a share of the free span, starting where the whole path fits.
    free = along - size
    travel = float(rng.uniform(0.5, 0.8)) * free if motion != "still" else 0.0
    start_along = float(rng.uniform(size / 2, size / 2 + free - travel))
    sign = dx + dy
    if sign < 0:  # moving towards 0: start at the far end
        start_along = along - start_along
    end_along = start_along + sign * travel

    def point(a: float, c: float) -> tuple[float, float]:
        return (round(a, 3), round(c, 3)) if column else (round(c, 3), round(a, 3))

    starts = tuple(point(start_along, c) for c in across_centres)
    ends = tuple(point(end_along, c) for c in across_centres)
    return Scene(background, color, shape, count, motion, round(size, 3), starts, ends)


def object_mask(scene: Scene, width: int, height: int, t: float, shrink: float = 0.0) -> np.ndarray:
    """Boolean (height, width) mask of all objects at clip time t; `shrink` pixels are peeled off."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32) + 0.5
    mask = np.zeros((height, width), dtype=bool)
    half = scene.size / 2 - shrink
    if half <= 0:
        return mask
    for cx, cy in scene.centers(t):
        u, v = xs - cx, ys - cy
        if scene.shape == "circle":
            mask |= u * u + v * v <= half * half
        elif scene.shape == "square":
            mask |= (np.abs(u) <= half) & (np.abs(v) <= half)
        else:  # isosceles triangle pointing up, base at the bottom of the bounding box
            depth = v + half  # 0 at the apex, 2*half at the base
            mask |= (depth >= 0) & (v <= half) & (np.abs(u) <= depth / 2)
    return mask


def render_frames(scene: Scene, width: int, height: int, num_frames: int) -> np.ndarray:
    """Clean uint8 frames, shape (num_frames, height, width, 3), of the scene at constant speed."""
    frames = np.empty((num_frames, height, width, 3), dtype=np.uint8)
    frames[:] = np.array(BACKGROUNDS[scene.background], dtype=np.uint8)
    colour = np.array(OBJECT_COLORS[scene.color], dtype=np.uint8)
    for i in range(num_frames):
        t = i / (num_frames - 1) if num_frames > 1 else 0.0
        frames[i][object_mask(scene, width, height, t)] = colour
    return frames
