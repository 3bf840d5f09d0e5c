"""Entry point of the `lmms_eval.models` group: registers `--model love`, `--model hf_video_ll` and LOVE's
task folder.

lmms-eval 0.7.3 calls `manifests()` while `lmms_eval.models` is being imported (which every
evaluation does before it builds its task index). Two things happen here:

1. the `love` model is returned as a `ModelManifest` (chat class `LoveChat`, simple class
   `LoveSimple`; lmms-eval picks the chat one unless `--force_simple`), and `hf_video_ll` (any
   transformers video LMM, simple class `HFVideoLL`);
2. `lmms_eval.tasks.TaskManager.initialize_tasks` is wrapped so that our `tasks/` folder is indexed
   next to lmms-eval's own (a built-in task of the same name keeps precedence, as lmms-eval does for
   `--include_path`). If `lmms_eval.tasks` is not imported yet, an import hook applies the wrap the
   moment it is, so this module never imports anything heavy itself.

Everything is exception-safe: an exception escaping an entry point makes lmms-eval drop *all*
plugin models, so failures are logged and swallowed. Set `LOVE_LMMS_EVAL_NO_TASKS=1` to keep our
task folder out of the index.
"""

from __future__ import annotations

import logging
import os
import sys

from .._after_import import AfterImport

logger = logging.getLogger(__name__)

TASKS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tasks")
MODEL_ID = "love"
SIMPLE_CLASS = "integrations.lmms_eval.models.love.LoveSimple"
CHAT_CLASS = "integrations.lmms_eval.models.love.LoveChat"
# Any transformers video LMM, for the likelihood (*_ll) tasks no lmms-eval class runs on video.
HF_VIDEO_ID = "hf_video_ll"
HF_VIDEO_CLASS = "integrations.lmms_eval.models.hf_video.HFVideoLL"
_PATCH_FLAG = "_love_plugins_tasks_dir"


def _wrap_initialize_tasks(task_manager_cls) -> None:
    """Make TaskManager index TASKS_DIR in addition to what it indexes anyway (idempotent)."""
    if getattr(task_manager_cls, _PATCH_FLAG, None):
        return
    original = task_manager_cls.initialize_tasks

    def initialize_tasks(self, include_path=None, include_defaults=True):
        index = original(self, include_path=include_path, include_defaults=include_defaults)
        if os.environ.get("LOVE_LMMS_EVAL_NO_TASKS", "") not in ("", "0"):
            return index
        try:
            paths = [include_path] if isinstance(include_path, str) else list(include_path or [])
            if any(os.path.abspath(str(p)).rstrip("/") == TASKS_DIR for p in paths):
                return index  # the user included it explicitly: already indexed
            ours = self._get_task_and_group(TASKS_DIR)
            return {**ours, **index}
        except Exception as exc:  # never break lmms-eval's own index
            logger.warning("love-plugins: could not index %s: %s", TASKS_DIR, exc)
            return index

    initialize_tasks.__wrapped__ = original
    task_manager_cls.initialize_tasks = initialize_tasks
    setattr(task_manager_cls, _PATCH_FLAG, TASKS_DIR)


def _patch_module(module) -> None:
    try:
        _wrap_initialize_tasks(module.TaskManager)
    except Exception as exc:
        logger.warning("love-plugins: could not extend lmms-eval's TaskManager: %s", exc)


def extend_task_manager() -> None:
    """Index our task folder in every TaskManager built from now on."""
    module = sys.modules.get("lmms_eval.tasks")
    if module is not None and hasattr(module, "TaskManager"):
        _patch_module(module)
    else:
        AfterImport(("lmms_eval.tasks",), _patch_module, key="love-plugins:lmms_eval.tasks").install()


def manifests():
    """The payload of the `lmms_eval.models` entry point: a list of ModelManifest (maybe empty)."""
    try:
        extend_task_manager()
    except Exception as exc:
        logger.warning("love-plugins: task registration failed: %s", exc)
    try:
        from lmms_eval.models.registry_v2 import ModelManifest

        return [ModelManifest(model_id=MODEL_ID, simple_class_path=SIMPLE_CLASS, chat_class_path=CHAT_CLASS),
                ModelManifest(model_id=HF_VIDEO_ID, simple_class_path=HF_VIDEO_CLASS)]
    except Exception as exc:
        logger.warning("love-plugins: model registration failed: %s", exc)
        return []
