"""love-plugins: the LOVE metric for AI-generated videos, on one shared inference core.

    import love_plugins
    scorer = love_plugins.load("love-nano")          # or a bundle directory
    results = scorer.score(["clip.mp4"], prompts=["a red ball rolling left"])

Heavy modules (torch, transformers) load on first use, so importing this package is cheap and never
touches the network.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "load", "Scorer", "VideoScore", "read_video", "SamplerConfig"]


def __getattr__(name: str):
    if name in ("load", "Scorer", "VideoScore"):
        from . import scorer

        return getattr(scorer, name)
    if name in ("read_video", "SamplerConfig"):
        from . import video

        return getattr(video, name)
    raise AttributeError(f"module 'love_plugins' has no attribute {name!r}")
