"""The LOVE model: configuration, prompt processing, architecture, tiny test configurations."""

from .configuration_love import LEVEL_WORDS, SCORE_TASKS, TASKS, LoveConfig, TaskPrompt
from .modeling_love import LoveModel, LoveOutput
from .prompting import LoveProcessor, TextRequest

__all__ = [
    "LEVEL_WORDS",
    "SCORE_TASKS",
    "TASKS",
    "LoveConfig",
    "LoveModel",
    "LoveOutput",
    "LoveProcessor",
    "TaskPrompt",
    "TextRequest",
]
