"""`--model love`: LOVE's core (love_plugins.Scorer) behind lmms-eval's model interface.

    lmms_eval --tasks aigve60k_sample --model love --limit 8
    lmms_eval --tasks aigve60k --model love --model_args checkpoint=/path/bundle,device=cuda,batch_size=8

model_args:
    checkpoint   a bundle directory, "love-nano" (packaged demo model), "tiny-random" (random weights,
                 plumbing only) or "auto" (default: love-nano when installed, else tiny-random with a warning)
    device       "cpu", "cuda", "cuda:1" ... (default: GPU when available)
    batch_size   videos per forward pass (default 8). model_args win over lmms-eval's --batch_size,
                 and --batch_size 1 (lmms-eval's default, always sent) or auto leave the default
    dtype        "float32" / "bfloat16" (default: bf16 on GPU, fp32 on CPU)
    tasks        LOVE tasks to allow, joined with "+" (default: all the checkpoint has), e.g. perception+qa
    num_workers  video-decoding worker processes (default: 0 on the CPU, up to 4 per GPU)
    qa_prompt    "inference" (default for LOVE's weights) or "training": the authors' QA prompt to ask with
    perception_views  test-time views averaged for the perception score (default: the checkpoint's own,
                 1 for LOVE's weights, 8 for love-nano; love_plugins.views)

What it answers. Each request is routed to one LOVE task: from the document's `love_task` field
when the task is one of ours, else from the question text (LOVE's quality question -> perception,
its correspondence question "... prompt:<text>" -> correspondence, anything else -> yes/no QA).
Rating requests get LOVE's level sentence with the regression score, e.g.
"The quality of the video is good. Score: 72.41/100" (the tasks' parser reads the "x/100");
QA requests get "Yes" or "No" from LOVE's next-token probabilities. A request LOVE fails on (a video that
cannot be read, a request without a video, out of memory at batch size 1) gets "[failed] <file>: <reason>"
(`answers.FAILURE_PREFIX`): the tasks count it in `n_failed` and leave it out of every metric.

`loglikelihood` (the `*_ll` tasks) returns LOVE's own next-token log-likelihoods at the answer position, as
stage 1 trained them: for a level word, log P(word) of LOVE's LM head after "... is" in the task's answer
sentence, over the whole vocabulary; for "yes"/"no", log P(Yes) / log P(No) of the QA task (`VideoScore.
*_logprobs`). is_greedy says whether that word is the vocabulary's most likely token there. A failed request
gets NaN. (Each answer word is one token of LOVE's tokenizer; for a tokenizer that splits one, the first
token's log-probability is read, and a warning says so.)

`LoveChat` (is_simple=False) reads the video and question from the task's `doc_to_messages`;
`LoveSimple` (is_simple=True) from `doc_to_visual` and the context string.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections import defaultdict

import torch
from lmms_eval.api.model import lmms
from lmms_eval.utils import simple_parse_args_string

from integrations.lmms_eval.answers import FAILURE_PREFIX, LEVELS, score_to_level

logger = logging.getLogger(__name__)

LOVE_TASKS = ("perception", "correspondence", "qa")
_SENTENCES = {
    "perception": "The quality of the video is {level}.",
    "correspondence": "The correspondence of the video and its prompt is {level}.",
}
_VIDEO_EXTS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".gif", ".m4v")


def resolve_checkpoint(checkpoint: str | None) -> str:
    """ "auto" -> love-nano if this installation bundles it, else tiny-random (with a warning)."""
    name = str(checkpoint or "auto")
    if name != "auto":
        return name
    from love_plugins.scorer import PACKAGED_MODELS

    if PACKAGED_MODELS["love-nano"].is_dir():
        return "love-nano"
    logger.warning(
        "love: love-nano is not bundled in this installation; using checkpoint=tiny-random (random "
        "weights: scores are meaningless). Pass model_args checkpoint=<bundle dir> for real scores."
    )
    return "tiny-random"


def route(doc: dict | None, text: str) -> tuple[str, str | None, str | None]:
    """(love task, prompt, question) of one request, from our document fields or the question text."""
    doc = doc if isinstance(doc, dict) else {}
    task = doc.get("love_task")
    if task in LOVE_TASKS:
        prompt = doc.get("prompt") or None
        question = doc.get("question") or None
        return task, prompt, question if task == "qa" else None
    first = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    lower = first.lower()
    if "correspondence" in lower and "prompt:" in lower:
        return "correspondence", first[lower.rfind("prompt:") + len("prompt:"):].strip() or None, None
    if "quality" in lower and "how" in lower:
        return "perception", None, None
    return "qa", None, first or None


def rating_answer(task: str, score: float) -> str:
    return f"{_SENTENCES[task].format(level=score_to_level(score))} Score: {score:.2f}/100"


def _as_int(value, default: int) -> int:
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return default


def _workers_arg(value) -> int | None:
    """model_args num_workers: None/"" = the scorer's default (0 on the CPU, up to 4 per GPU)."""
    if value in (None, ""):
        return None
    try:
        workers = int(value)
    except (TypeError, ValueError):
        workers = -1
    if workers < 0:
        raise ValueError(f"love: num_workers must be an integer >= 0, got {value!r}")
    return workers


def _views_arg(value) -> int | None:
    """model_args perception_views: None/"" = the checkpoint's own; anything else must be an integer (the
    scorer refuses one below 1), never clamped as batch_size is."""
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"love: perception_views must be an integer >= 1, got {value!r}") from None


class _LoveBase(lmms):
    """Shared implementation; see the module docstring."""

    def __init__(self, checkpoint: str = "auto", device: str | None = None, batch_size=8, dtype: str | None = None,
                 tasks: str | None = None, num_workers=None, perception_views=None, qa_prompt=None,
                 **kwargs) -> None:
        super().__init__()
        unknown = {k: v for k, v in kwargs.items() if k not in ("max_batch_size",)}
        if unknown:
            logger.warning("love: ignoring unknown model_args %s", sorted(unknown))
        from love_plugins.scorer import load

        if int(os.environ.get("WORLD_SIZE", "1")) > 1:  # torchrun / accelerate launch: one rank per GPU
            from accelerate import Accelerator

            self.accelerator = Accelerator()
            self._rank, self._world_size = self.accelerator.process_index, self.accelerator.num_processes
            if not device:
                local = self.accelerator.local_process_index
                device = f"cuda:{local}" if torch.cuda.is_available() else "cpu"
        self.checkpoint = resolve_checkpoint(checkpoint)
        self.scorer = load(self.checkpoint, device=device or None, dtype=dtype or None,
                           batch_size=_as_int(batch_size, 8), num_workers=_workers_arg(num_workers),
                           perception_views=_views_arg(perception_views), qa_prompt=qa_prompt or None)
        available = tuple(self.scorer.tasks)
        wanted = tuple(t for t in re.split(r"[+;| ]+", tasks) if t) if tasks else available
        bad = [t for t in wanted if t not in available]
        if bad:
            raise ValueError(f"love: checkpoint {self.checkpoint!r} has no task(s) {bad}; it has {list(available)}")
        self.love_tasks = wanted
        self._cache: dict[tuple, object] = {}  # request -> VideoScore (its `error` set if LOVE failed on it)
        split = self.scorer.processor.multi_token_answers()
        if split:
            logger.warning("love: answer words %s span several tokens of this tokenizer; loglikelihood reads their "
                           "first token's log-probability", split)
        logger.info("love: %s", self.scorer.describe())

    @classmethod
    def create_from_arg_string(cls, arg_string: str, additional_config: dict | None = None):
        """Like lmms's, but model_args win over lmms-eval's own --batch_size/--device (no duplicate-kwarg error)."""
        args = simple_parse_args_string(arg_string or "")
        extra = {k: v for k, v in (additional_config or {}).items() if v is not None and k not in args}
        if str(extra.get("batch_size", "")) in ("1", "auto") or str(extra.get("batch_size", "")).startswith("auto:"):
            # lmms-eval's CLI always sends its default --batch_size 1; LOVE batches videos (default 8).
            # model_args batch_size=1 still forces one video per forward pass.
            extra.pop("batch_size")
        return cls(**args, **extra)

    @property
    def device(self) -> torch.device:
        """This rank's device (lmms-eval's multi-process evaluator gathers counts on it)."""
        return self.scorer.device

    # -- request unpacking -------------------------------------------------------------------------
    def _doc(self, task, split, doc_id):
        try:
            return self.task_dict[task][split][doc_id]
        except (KeyError, IndexError, TypeError):
            return None

    @staticmethod
    def _first_video(visuals) -> str | None:
        if not isinstance(visuals, (list, tuple)):
            visuals = [visuals]
        for visual in visuals:
            if isinstance(visual, dict):
                visual = visual.get("url") or visual.get("path") or visual.get("video")
            if isinstance(visual, str):
                return visual
        return None

    def _unpack(self, args) -> tuple[dict | None, str | None, str]:
        """(doc, video path, question text) of a request, for both the chat and the simple shapes."""
        if len(args) == 6 and callable(args[1]) and not callable(args[2]):  # chat: ctx, doc_to_messages, gen, id, task, split
            ctx, doc_to_messages, _, doc_id, task, split = args
            doc = self._doc(task, split, doc_id)
            video, texts = None, []
            messages = doc_to_messages(doc) if doc is not None else []
            for message in messages or []:
                if message.get("role") != "user":
                    continue
                content = message.get("content")
                if isinstance(content, str):
                    texts.append(content)
                    continue
                for part in content or []:
                    if part.get("type") == "text":
                        texts.append(part.get("text", ""))
                    elif part.get("type") == "video" and video is None:
                        video = self._first_video([part.get("url")])
            return doc, video, "\n".join(texts) or (ctx or "")
        # simple: ctx, gen_kwargs|continuation, doc_to_visual, [doc_to_text,] doc_id, task, split
        ctx, doc_to_visual, doc_id, task, split = args[0], args[2], args[-3], args[-2], args[-1]
        doc = self._doc(task, split, doc_id)
        video = self._first_video(doc_to_visual(doc)) if (doc is not None and callable(doc_to_visual)) else None
        return doc, video, ctx or ""

    # -- scoring -----------------------------------------------------------------------------------
    def _score(self, items: list[tuple[str, str | None, str, str | None, str | None]]) -> list:
        """items: (key, video, love_task, prompt, question) -> a VideoScore per item (cached); a failure is a
        VideoScore with `error` set, never a score."""
        from love_plugins.scorer import VideoScore

        todo = defaultdict(list)
        for key, video, task, prompt, question in items:
            if key in self._cache:
                continue
            if task not in self.love_tasks:
                raise ValueError(f"love: request needs LOVE task {task!r}, but model_args tasks= allows {list(self.love_tasks)}")
            if video is None:
                self._cache[key] = VideoScore(video="", error=f"request without a video ({task}: {question or prompt})")
                continue
            todo[task].append((key, video, prompt, question))
        for task, group in todo.items():
            scores = self.scorer.score(
                [g[1] for g in group],
                prompts=[g[2] for g in group] if task == "correspondence" else None,
                questions=[g[3] for g in group] if task == "qa" else None,
                tasks=[task],
            )
            for (key, *_), result in zip(group, scores):
                self._cache[key] = result
        for item in items:
            result = self._cache[item[0]]
            if result.error:
                logger.warning("love: failed: %s", result.error)
        return [self._cache[item[0]] for item in items]

    def _items(self, requests):
        items = []
        for request in requests:
            doc, video, text = self._unpack(request.args)
            task, prompt, question = route(doc, text)
            items.append(((video, task, prompt, question), video, task, prompt, question))
        return items

    @staticmethod
    def _answer(task: str, result) -> str:
        if result.error:
            return f"{FAILURE_PREFIX}{result.error}"
        if task == "qa":
            return "Yes" if result.qa_answer == "yes" else "No"
        return rating_answer(task, getattr(result, task))

    # -- lmms interface ----------------------------------------------------------------------------
    def generate_until(self, requests) -> list[str]:
        items = self._items(requests)
        results = self._score(items)
        answers = [self._answer(item[2], result) for item, result in zip(items, results)]
        for request, answer in zip(requests, answers):
            self.cache_hook.add_partial("generate_until", (request.args[0], None), answer)
        return answers

    def generate_until_multi_round(self, requests) -> list[str]:
        # LOVE answers in one turn; the first-round answer stands for the conversation.
        return self.generate_until(requests)

    def loglikelihood(self, requests) -> list[tuple[float, bool]]:
        """LOVE's next-token log-likelihood of the continuation at the answer position (module docstring)."""
        routed = []
        for request in requests:
            args = request.args
            continuation = str(args[1]).strip().lower().rstrip(".!? ")
            doc, video, text = self._unpack(args)
            task, prompt, question = route(doc, text)
            words = re.findall(r"[a-z]+", continuation)
            if continuation in ("yes", "no"):
                task, word = "qa", continuation
                question = question or (text.strip().splitlines()[0] if text.strip() else None)
            elif len(set(words) & set(LEVELS)) == 1:
                word = next(w for w in words if w in LEVELS)
                task = "perception" if task == "qa" else task
            else:
                raise NotImplementedError(
                    f"love: loglikelihood is defined for 'yes'/'no' and one of LOVE's level words, not {args[1]!r}"
                )
            routed.append(((video, task, prompt, question), video, task, prompt, question, word))
        results = self._score([r[:5] for r in routed])
        out = []
        for (_, _, task, _, _, word), result in zip(routed, results):
            if result.error:
                out.append((math.nan, False))
                continue
            logprobs = getattr(result, f"{task}_logprobs")
            top_is_answer = result.qa_argmax_is_yes_no if task == "qa" else getattr(result, f"{task}_argmax_is_level")
            greedy = bool(top_is_answer) and max(logprobs, key=logprobs.get) == word
            out.append((float(logprobs[word]), greedy))
        return out


class LoveSimple(_LoveBase):
    """`--model love --force_simple`: requests carry `doc_to_visual` and a text context."""

    is_simple = True


class LoveChat(_LoveBase):
    """`--model love` (default): requests carry `doc_to_messages`."""

    is_simple = False
