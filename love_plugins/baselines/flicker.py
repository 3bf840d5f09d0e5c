"""Temporal flicker: mean absolute difference of consecutive frames (VBench-style, no weights).

score = 100 · (255 − MAD) / 255, MAD = mean |frame[t+1] − frame[t]| over pixels, channels and the
first `max_frames` consecutive frames. Steady, low-flicker videos score high. It is blind to the
prompt and only a perception proxy (VBench's "temporal flickering" in LOVE's tables: perception SRCC
0.4076 on AIGVE-60K).
"""

from __future__ import annotations

import numpy as np

from .base import BaselineScore, FrameBaseline, read_rgb_frames


class FlickerScorer(FrameBaseline):
    name = "flicker"
    description = "temporal flicker: 100*(255 - mean |consecutive frame difference|)/255"

    def __init__(self, max_frames: int = 64):
        self.max_frames = max_frames

    def config(self) -> dict:
        return {"max_frames": self.max_frames, "frames": "consecutive, from the start"}

    def measure(self, path: str) -> BaselineScore:
        frames = read_rgb_frames(path, max_frames=self.max_frames).astype(np.int16)
        if len(frames) < 2:
            mad = 0.0
        else:
            mad = float(np.abs(np.diff(frames, axis=0)).mean())
        return BaselineScore(video=path, perception=100.0 * (255.0 - mad) / 255.0, raw={"mad": mad})
