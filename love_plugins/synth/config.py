"""Settings of a synthetic suite and its fictitious generators, free of heavy imports.

Kept apart from the generator so that `love-eval --help` can show the defaults without loading
PyAV, SciPy or PIL.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Fictitious T2V generators and their quality q in (0, 1): q sets how strong their artefacts are
# and how often they ignore the prompt, so per-model mean targets are ordered by q.
GENERATOR_MODELS: dict[str, float] = {
    "aurora-v2": 0.92,
    "lumen-1.5": 0.78,
    "pixelforge": 0.62,
    "dreamreel": 0.45,
    "kinetoscope-0.9": 0.28,
}


@dataclass
class SuiteConfig:
    """Rendering and split settings; `models` maps generator name -> quality q (round-robin order)."""

    width: int = 128
    height: int = 96
    fps: int = 8
    seconds: float = 3.0
    test_fraction: float = 0.2
    models: dict[str, float] = field(default_factory=lambda: dict(GENERATOR_MODELS))

    @property
    def num_frames(self) -> int:
        return max(1, int(round(self.fps * self.seconds)))

    def validate(self) -> None:
        """Fail early on settings the encoder or the split cannot honour."""
        if self.width % 2 or self.height % 2 or self.width < 16 or self.height < 16:
            raise ValueError(f"width and height must be even and >= 16, got {self.width}x{self.height}")
        if self.fps < 1 or self.num_frames < 2:
            raise ValueError(
                f"need fps >= 1 and at least 2 frames, got fps={self.fps}, seconds={self.seconds}"
            )
        if not 0.0 <= self.test_fraction <= 1.0:
            raise ValueError(f"test_fraction must be in [0, 1], got {self.test_fraction}")
        if not self.models:
            raise ValueError("at least one generator model is needed")
        for name, quality in self.models.items():
            if not 0.0 < quality < 1.0:
                raise ValueError(f"quality of model {name!r} must be in (0, 1), got {quality}")
            if not name or "/" in name or name.strip() != name:
                raise ValueError(f"model name {name!r} cannot be used as a folder name")
