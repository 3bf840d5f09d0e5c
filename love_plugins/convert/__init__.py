"""Convert the released LOVE checkpoints into this project's one-base-three-tasks bundle.

    from love_plugins.convert import convert
    convert({"perception": "LOVE-Perception", "correspondence": "LOVE-Corrrespondence", "qa": "LOVE-QA"},
            "love-bundle", temporal="LOVE-pretrain/temporal.pth")

`love_plugins.load("love")` does this once through the Hugging Face cache (see `hub`).
"""

from __future__ import annotations

from .converter import ConversionReport, convert, love_config_from_authors

__all__ = ["ConversionReport", "convert", "love_config_from_authors"]
