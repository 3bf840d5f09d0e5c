"""Scorer: files in, LOVE scores out — the one object both plugins and the CLI use.

    scorer = love_plugins.load("love-nano")
    scorer.score(["a.mp4", "b.mp4"], prompts=["...", "..."], questions=["Is ...?", "Is ...?"])

Each video is decoded once (both input streams from one pass) and its frozen motion features are
computed once, then every requested task runs on the same tensors with its own adapters. Decoding can
run ahead in DataLoader worker processes. A video that cannot be read yields a result with `error`
set; the others are scored.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import platform
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from . import __version__
from .cache import ScoreCache, file_digest
from .errors import LoveError, VideoDecodeError, first_line
from .modeling import LoveModel, LoveOutput, LoveProcessor, TextRequest
from .modeling.configuration_love import SCORE_TASKS
from .tensor_video import is_video_tensor, sample_from_frames, split_videos, tensor_streams, to_float_frames
from .video import SamplerConfig, VideoMeta, VideoSample, normalize_fragments, normalize_frames, read_video
from .views import apply_view, samplings_needed, view_plan

logger = logging.getLogger(__name__)

PACKAGED_MODELS = {"love-nano": Path(__file__).parent / "assets" / "love-nano"}


@dataclass
class VideoScore:
    """LOVE's outputs for one video. Scores are on the 0–100 MOS scale; absent tasks stay None."""

    video: str
    perception: float | None = None
    correspondence: float | None = None
    perception_level: str | None = None
    correspondence_level: str | None = None
    qa_answer: str | None = None  # "yes" or "no"
    qa_p_yes: float | None = None  # P(yes) and P(no) renormalised over the two answer tokens
    qa_p_no: float | None = None
    # Whether the most likely next token over the whole vocabulary is the yes or the no token. The authors'
    # eval_qa.py decodes that argmax; where this is True its answer equals `qa_answer`.
    qa_argmax_is_yes_no: bool | None = None
    # log P of each answer word (its first token in its slot) over the whole vocabulary at the answer position,
    # from the model's own view: {level word: log P} for the score tasks, {"yes": .., "no": ..} for QA; and
    # whether the vocabulary's most likely token there is a level word.
    perception_logprobs: dict[str, float] | None = None
    correspondence_logprobs: dict[str, float] | None = None
    qa_logprobs: dict[str, float] | None = None
    perception_argmax_is_level: bool | None = None
    correspondence_argmax_is_level: bool | None = None
    prompt: str | None = None
    question: str | None = None
    error: str | None = None
    fps: float | None = None  # the frame rate given with an in-memory video (recorded; sampling is by index)

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# The fields each task fills in a VideoScore (what the score cache stores per task).
TASK_FIELDS = {
    "perception": ("perception", "perception_level", "perception_logprobs", "perception_argmax_is_level"),
    "correspondence": ("correspondence", "correspondence_level", "correspondence_logprobs",
                       "correspondence_argmax_is_level"),
    "qa": ("qa_answer", "qa_p_yes", "qa_p_no", "qa_argmax_is_yes_no", "qa_logprobs"),
}


@dataclass
class _Item:
    index: int
    path: str
    sample: VideoSample | None = None
    error: str | None = None
    digest: str | None = None  # content hash, when a score cache is used
    cached: dict | None = None  # every requested task's fields, found in the cache
    extra_fragments: list[torch.Tensor] = field(default_factory=list)  # more samplings, for perception's views
    batch: _Batch | None = field(default=None, repr=False, compare=False)  # the batch whose stacked streams hold it
    row: int = -1


def _task_text(task: str, prompt: str | None, question: str | None) -> str | None:
    return {"correspondence": prompt, "qa": question}.get(task)


def _name(video, index: int) -> str:
    """How a video is named in results: its path, or `<memory:i>` for one held in memory."""
    return f"<memory:{index}>" if is_video_tensor(video) else str(video)


def _sample(video, sampler: SamplerConfig, backend: str | None, fps: float | None, name: str,
            index: int) -> VideoSample:
    """Both streams of a file or of an in-memory video (a GPU tensor is sampled on its GPU, with the
    differentiable path's resize; a CPU one exactly as a file's frames)."""
    if not is_video_tensor(video):
        return read_video(video, sampler, backend=backend)
    if isinstance(video, torch.Tensor) and video.device.type != "cpu":
        frames, fragments = tensor_streams(to_float_frames(video, index), sampler)
        quantized = [t.round().to(torch.uint8) for t in (frames, fragments)]
        n, height, width = video.shape[0], *video.shape[-2:]
        meta = VideoMeta(name, n, float(fps or 0.0), width, height, n / fps if fps else 0.0, "memory")
        return VideoSample(frames=quantized[0], fragments=quantized[1], meta=meta, config=sampler)
    return sample_from_frames(video, sampler, fps=fps, name=name, index=index)


class _VideoFiles(Dataset):
    """Decodes one video per item (a file, or frames held in memory); failures travel as data so one bad
    video never stops a batch. With a score cache, a file whose every requested task is cached is not
    decoded at all."""

    def __init__(self, videos, sampler: SamplerConfig, backend: str | None, cache: ScoreCache | None = None,
                 tasks=(), prompts=(), questions=(), extra_samplings: int = 0, fps=None):
        self.videos = list(videos)
        self.paths = [_name(v, i) for i, v in enumerate(self.videos)]
        self.fps = _aligned(fps, len(self.videos), "fps values")
        self.sampler = sampler
        self.backend = backend
        self.extra_samplings = extra_samplings
        self.cache, self.tasks, self.prompts, self.questions = cache, tasks, prompts, questions

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> _Item:
        path, video = self.paths[index], self.videos[index]
        digest = None
        if self.cache is not None and not is_video_tensor(video) and os.path.isfile(path):
            digest = file_digest(path)
            found = {}
            for task in self.tasks:
                text = _task_text(task, self.prompts[index], self.questions[index])
                entry = self.cache.get(self.cache.key(digest, task, text))
                if entry is None:
                    break
                found.update(entry)
            else:
                return _Item(index, path, digest=digest, cached=found)
        try:
            fps = self.fps[index]
            sample = _sample(video, self.sampler, self.backend, fps, path, index)
            extra = _extra_fragments(video, self.sampler, self.extra_samplings, self.backend, fps, index)
            return _Item(index, path, sample=sample, digest=digest, extra_fragments=extra)
        except (VideoDecodeError, LoveError) as exc:
            return _Item(index, path, error=str(exc))


def _extra_fragments(video, sampler: SamplerConfig, count: int, backend: str | None, fps: float | None = None,
                     index: int = 0) -> list[torch.Tensor]:
    """The fragments of samplings 1..count of a video (seed + k), for perception's test-time views."""
    return [_sample(video, dataclasses.replace(sampler, seed=sampler.seed + k), backend, fps, _name(video, index),
                    index).fragments for k in range(1, count + 1)]


@dataclass
class _Batch:
    """A decoded batch: its items and, when every decoded item has the same shapes, the two stacked streams
    their samples are views of (row `i` = the i-th decoded item). A worker hands the batch over as two
    shared-memory blocks instead of two per video; `pin_memory` (what the DataLoader calls on a batch when
    pinning) pins those two blocks once, and the model step slices them without another copy."""

    items: list[_Item]
    frames: torch.Tensor | None = None
    fragments: torch.Tensor | None = None

    def __post_init__(self):
        for row, it in enumerate(self.decoded):
            it.batch, it.row = self, row

    @property
    def decoded(self) -> list[_Item]:
        return [it for it in self.items if it.sample is not None]

    def pin_memory(self) -> _Batch:
        if self.frames is not None:
            self.frames, self.fragments = self.frames.pin_memory(), self.fragments.pin_memory()
            for row, it in enumerate(self.decoded):
                it.sample = dataclasses.replace(it.sample, frames=self.frames[row], fragments=self.fragments[row])
        return self


def _collate(items: list[_Item]) -> _Batch:
    """Stack a batch's decoded streams into one tensor each (see `_Batch`)."""
    decoded = [it for it in items if it.sample is not None]
    shapes = {(it.sample.frames.shape, it.sample.fragments.shape) for it in decoded}
    if not decoded or len(shapes) > 1:
        return _Batch(items)
    frames = torch.stack([it.sample.frames for it in decoded])
    fragments = torch.stack([it.sample.fragments for it in decoded])
    for i, it in enumerate(decoded):
        it.sample = dataclasses.replace(it.sample, frames=frames[i], fragments=fragments[i])
    return _Batch(items, frames, fragments)


def _streams(items: list[_Item]) -> tuple[torch.Tensor, torch.Tensor]:
    """The frames and fragments of decoded items, batched: a slice of their batch's stacked (pinned) tensors
    when the items are consecutive rows of one batch, else a fresh stack."""
    first = items[0]
    rows = [it.row for it in items]
    if first.batch is not None and first.batch.frames is not None and all(it.batch is first.batch for it in items) \
            and rows == list(range(rows[0], rows[0] + len(rows))):
        span = slice(rows[0], rows[0] + len(rows))
        return first.batch.frames[span], first.batch.fragments[span]
    return torch.stack([it.sample.frames for it in items]), torch.stack([it.sample.fragments for it in items])


# Decoding workers run at a lower CPU priority than the process that steps the model: when cores are
# scarce, a starved model step stalls the whole pipeline, whereas a worker that is briefly delayed
# only eats into the prefetch queue.
WORKER_NICENESS = 5


def _decoding_worker_init(_worker_id: int) -> None:
    # Decoding workers run beside the model; intra-op threads in each would only fight over cores.
    torch.set_num_threads(1)
    if hasattr(os, "nice"):
        os.nice(WORKER_NICENESS)


@dataclass
class Scorer:
    """A loaded LOVE model plus everything needed to go from video files to `VideoScore`s."""

    model: LoveModel
    tokenizer: object
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    batch_size: int = 8
    num_workers: int = 0
    backend: str | None = None
    source: str = "in-memory"
    cache_dir: str | Path | None = None  # score cache (see love_plugins.cache); None disables it
    # Test-time views averaged for the perception score (love_plugins.views); None: the model config's own
    # (1 for LOVE's weights, as the paper scores; 8 for love-nano).
    perception_views: int | None = None
    # The authors' QA prompt to ask with: "inference" (eval_qa.py's, which gave the published accuracy) or
    # "training" (train_qa.py's); None: the bundle's own (see `LoveConfig.qa_prompt`). Sets the model's config.
    qa_prompt: str | None = None
    # The requested tasks in one forward pass, each row with its task's LoRA, projectors and head
    # (`LoveModel.forward_tasks`; peft's mixed-adapter batches) instead of one pass per task: larger matrix
    # products for the shared base weights. The same scores up to the order of float sums.
    one_pass: bool = False
    # How the LLM's prefill runs (`LoveModel.set_prefill`): its attention implementation as transformers names it
    # (None: as built, "sdpa"; "flash_attention_2", "flex_attention", "eager"), and the batch's rows packed into
    # one sequence without padding (per-task passes only). The same scores up to the order of float sums.
    attention: str | None = None
    packed: bool = False

    def __post_init__(self):
        self.device = torch.device(self.device)
        if self.packed and self.one_pass:
            raise ValueError("packed and one_pass cannot be combined: a mixed-adapter batch picks each task's "
                             "adapters by row, and packing leaves one row")
        try:
            self.model.set_prefill(packed=self.packed, attention=self.attention)
        except (ImportError, ValueError) as exc:  # e.g. flash-attn not installed, or no CUDA for it
            raise ValueError(f"attention {self.attention!r}: {first_line(exc)}") from exc
        self._fitting_batch: int | None = None  # set after an out-of-memory error: the size that fits
        overridden_qa_prompt = self.qa_prompt is not None and self.qa_prompt != self.model.config.qa_prompt
        if self.qa_prompt is not None:
            self.model.config.set_qa_prompt(self.qa_prompt)
        self.qa_prompt = self.model.config.qa_prompt
        self.processor = LoveProcessor(self.tokenizer, self.model.config)
        self.model.to(self.device).eval()
        if self.perception_views is None:
            self.perception_views = self.model.config.perception_views
        view_plan(self.perception_views)  # refuses a count below 1 here rather than at the first batch
        self.cache = None
        if self.cache_dir is not None:
            context = self.sampler.to_dict()
            if self.perception_views != 1:  # views change perception's score; one view keeps the old keys
                context["perception_views"] = self.perception_views
            if overridden_qa_prompt:  # another QA prompt than the bundle's changes QA's answers
                context["qa_prompt"] = self.qa_prompt
            if self.one_pass:  # other matrix-product sizes: other last digits
                context["one_pass"] = True
            if self.packed or self.attention not in (None, "sdpa"):  # other kernels: other last digits
                context["prefill"] = {"attention": self.attention, "packed": self.packed}
            self.cache = ScoreCache(self.cache_dir, self.checkpoint_id(), context)

    def checkpoint_id(self) -> str:
        """Identifies the weights: name, source and, for bundles, the weights file's size and mtime."""
        stamp = ""
        weights = Path(self.source) / "model.safetensors"
        if weights.is_file():
            st = weights.stat()
            stamp = f"{st.st_size}-{st.st_mtime_ns}"
        return f"{self.model.config.name}|{self.source}|{stamp}|{str(self.model.dtype)}"

    # -- description, recorded in every output ------------------------------------------------------
    @property
    def sampler(self) -> SamplerConfig:
        return self.model.config.sampler_config

    @property
    def views(self) -> list:
        """Perception's test-time views (`love_plugins.views.view_plan` of `perception_views`)."""
        return view_plan(self.perception_views)

    @property
    def tasks(self) -> tuple[str, ...]:
        return self.model.config.tasks

    def describe(self) -> dict:
        """Model, sampler and software versions: enough to reproduce a run."""
        import transformers

        return {
            "model": self.model.config.name,
            "checkpoint": self.source,
            "tasks": list(self.tasks),
            "sampler": self.sampler.to_dict(),
            "perception_views": self.perception_views,
            "qa_prompt": self.qa_prompt,
            # Scores of one video differ in the last digits (up to 3e-5) between batch sizes (padding and
            # kernel blocking): a resume with another batch size is refused rather than mixed.
            "batch_size": self.batch_size,
            "one_pass": self.one_pass,
            "attention": self.model.language_model.config._attn_implementation,
            "packed": self.packed,
            "dtype": str(self.model.dtype).replace("torch.", ""),
            "device": str(self.device),
            "versions": {
                "love_plugins": __version__,
                "torch": torch.__version__,
                "transformers": transformers.__version__,
                "python": platform.python_version(),
            },
        }

    # -- public API ---------------------------------------------------------------------------------
    def default_tasks(self, prompts, questions) -> tuple[str, ...]:
        """Perception always; correspondence when prompts are given; QA when questions are given."""
        wanted = ["perception"]
        if prompts is not None:
            wanted.append("correspondence")
        if questions is not None:
            wanted.append("qa")
        return tuple(t for t in wanted if t in self.tasks)

    def score(
        self,
        videos,
        prompts: Sequence[str | None] | None = None,
        questions: Sequence[str | None] | None = None,
        tasks: Sequence[str] | None = None,
        progress: bool = False,
        fps: float | Sequence[float | None] | None = None,
    ) -> list[VideoScore]:
        """Score videos; results come back in input order, failures with `error` set.

        `videos`: file paths, or videos held in memory (`love_plugins.tensor_video`: uint8 (T, H, W, 3) or
        float (T, 3, H, W) in [0, 1], a list of them or a (B, T, ...) batch); a mix is fine. `fps` (one value
        or one per video) is recorded for in-memory videos: LOVE samples frames by index, not by time."""
        return list(self.iter_scores(videos, prompts, questions, tasks, progress=progress, fps=fps))

    def iter_scores(
        self,
        videos,
        prompts: Sequence[str | None] | None = None,
        questions: Sequence[str | None] | None = None,
        tasks: Sequence[str] | None = None,
        progress: bool = False,
        fps=None,
    ) -> Iterator[VideoScore]:
        """Like `score`, but yields each result as soon as its batch is done (streams to disk)."""
        videos = split_videos(videos)
        paths = [_name(v, i) for i, v in enumerate(videos)]
        on_gpu = any(isinstance(v, torch.Tensor) and v.device.type != "cpu" for v in videos)
        tasks = tuple(tasks) if tasks is not None else self.default_tasks(prompts, questions)
        prompts = _aligned(prompts, len(paths), "prompts")
        questions = _aligned(questions, len(paths), "questions")
        unknown = set(tasks) - set(self.tasks)
        if unknown:
            raise LoveError(f"model {self.model.config.name!r} has no task(s) {sorted(unknown)}; it has {self.tasks}")
        workers = 0 if on_gpu else self.num_workers  # GPU tensors are sampled where they are
        loader = DataLoader(
            _VideoFiles(videos, self.sampler, self.backend, self.cache, tasks, prompts, questions,
                        extra_samplings=self._extra_samplings(tasks), fps=fps),
            batch_size=self.batch_size,
            num_workers=workers,
            collate_fn=_collate,
            worker_init_fn=_decoding_worker_init,
            pin_memory=self.device.type == "cuda" and not on_gpu,
            prefetch_factor=2 if workers else None,
            generator=torch.Generator(),  # scoring leaves the caller's global RNG alone
        )
        bar = tqdm(total=len(paths), desc="scoring", unit="video", disable=not progress)
        for batch in loader:
            results = self.score_items(batch.items, prompts, questions, tasks)
            for result, item in zip(results, batch.items):
                if is_video_tensor(videos[item.index]):
                    result.fps = (item.sample.meta.fps or None) if item.sample is not None else None
            bar.update(len(results))
            yield from results
        bar.close()

    def score_samples(
        self,
        samples: Sequence[VideoSample],
        prompts: Sequence[str | None] | None = None,
        questions: Sequence[str | None] | None = None,
        tasks: Sequence[str] | None = None,
    ) -> list[VideoScore]:
        """Score already-decoded videos (one model batch per `batch_size` samples)."""
        tasks = tuple(tasks) if tasks is not None else self.default_tasks(prompts, questions)
        prompts = _aligned(prompts, len(samples), "prompts")
        questions = _aligned(questions, len(samples), "questions")
        items = []
        for i, s in enumerate(samples):
            try:  # views beyond the sample's own fragments decode the file again, with the sample's sampler
                extra = _extra_fragments(s.meta.path, s.config, self._extra_samplings(tasks), self.backend)
                items.append(_Item(i, s.meta.path, sample=s, extra_fragments=extra))
            except VideoDecodeError as exc:
                items.append(_Item(i, s.meta.path, error=str(exc)))
        results = []
        for start in range(0, len(items), self.batch_size):
            results += self.score_items(items[start : start + self.batch_size], prompts, questions, tasks)
        return results

    def _extra_samplings(self, tasks) -> int:
        """Fragment samplings beyond the model's own that the requested tasks' views read."""
        return samplings_needed(self.perception_views) - 1 if "perception" in tasks else 0

    def score_items(self, items: list[_Item], prompts, questions, tasks) -> list[VideoScore]:
        results = {
            it.index: VideoScore(video=it.path, prompt=prompts[it.index], question=questions[it.index], error=it.error)
            for it in items
        }
        for it in items:
            if it.cached is not None:
                for name, value in it.cached.items():
                    setattr(results[it.index], name, value)
        good = [it for it in items if it.sample is not None]
        for it in good:  # per-video input errors: a task that needs text the video lacks
            missing = _missing_text(tasks, prompts[it.index], questions[it.index])
            if missing:
                results[it.index].error = f"{it.path}: {missing}"
        good = [it for it in good if results[it.index].error is None]
        if good:
            self._score_decoded(good, prompts, questions, tasks, results)
            if self.cache is not None:
                self._store(good, prompts, questions, tasks, results)
        return [results[it.index] for it in items]

    def _store(self, items: list[_Item], prompts, questions, tasks, results: dict[int, VideoScore]) -> None:
        for it in items:
            result = results[it.index]
            if it.digest is None or not result.ok:
                continue
            for task in tasks:
                text = _task_text(task, prompts[it.index], questions[it.index])
                self.cache.put(self.cache.key(it.digest, task, text),
                               {name: getattr(result, name) for name in TASK_FIELDS[task]})

    # -- the model step -----------------------------------------------------------------------------
    @torch.inference_mode()
    def _score_decoded(self, items: list[_Item], prompts, questions, tasks, results: dict[int, VideoScore]):
        """Run the model on the items in chunks of at most the batch size that fits. Out of memory, the chunk
        is halved and tried again, and the smaller size is kept for the rest of the run; a video that does not
        fit alone gets an error. The retry happens outside the `except` block: inside it, the traceback would
        keep the failed attempt's tensors alive."""
        pending = list(items)
        while pending:
            size = min(len(pending), self._fitting_batch or len(pending))
            chunk = pending[:size]
            try:
                self._run_batch(chunk, prompts, questions, tasks, results)
                out_of_memory = False
            except Exception as exc:
                if not is_out_of_memory(exc):
                    raise
                out_of_memory = True
            if not out_of_memory:
                pending = pending[size:]
                continue
            if self.device.type == "cuda":
                torch.cuda.empty_cache()
            if size == 1:
                results[chunk[0].index].error = f"{chunk[0].path}: out of memory even at batch size 1"
                pending = pending[1:]
                continue
            self._fitting_batch = size // 2
            logger.warning("out of memory on a batch of %d; continuing with batches of %d", size, size // 2)

    def _run_batch(self, items: list[_Item], prompts, questions, tasks, results: dict[int, VideoScore]):
        model, processor = self.model, self.processor
        frames, fragments = _streams(items)  # uint8, pinned by the DataLoader on a GPU run
        asynchronous = self.device.type == "cuda"
        dtype = model.dtype
        pixel_values = normalize_frames(frames.to(self.device, non_blocking=asynchronous)).to(dtype)
        motion_values = normalize_fragments(fragments.to(self.device, non_blocking=asynchronous)).to(dtype)
        motion_features = model.encode_motion(motion_values)  # once per video, shared by all tasks
        requests = [TextRequest(prompt=prompts[it.index], question=questions[it.index]) for it in items]
        batches = {task: {k: v.to(self.device) for k, v in processor(task, requests).items()} for task in tasks}
        outputs = run_tasks(model, processor, batches, pixel_values, motion_features,
                            one_pass=self.one_pass and len(tasks) > 1)
        for task, out in outputs.items():
            batch = batches[task]
            # The answer words' log-probabilities over the whole vocabulary, at the answer position (the model's
            # own view), and whether the vocabulary's most likely token is one of them.
            words = model.config.level_words if task in SCORE_TASKS else ("yes", "no")
            word_ids = processor.level_token_ids if task in SCORE_TASKS else [processor.yes_token_id,
                                                                              processor.no_token_id]
            logprobs = out.word_logits.log_softmax(-1)[:, word_ids].tolist()
            top = out.word_logits.argmax(-1).tolist()
            for it, lps, top_id in zip(items, logprobs, top):
                r = results[it.index]
                setattr(r, f"{task}_logprobs", dict(zip(words, lps)))
                setattr(r, "qa_argmax_is_yes_no" if task == "qa" else f"{task}_argmax_is_level", top_id in word_ids)
            if task in SCORE_TASKS:
                score, level_probs = out.score, out.word_logits[:, processor.level_token_ids].softmax(-1)
                if task == "perception" and self.perception_views > 1:
                    score, level_probs = self._mean_over_views(items, frames, fragments, batch, score, level_probs)
                levels = level_probs.argmax(-1).tolist()
                for it, value, level in zip(items, (score * 100).tolist(), levels):
                    setattr(results[it.index], task, float(value))
                    setattr(results[it.index], f"{task}_level", model.config.level_words[level])
            else:
                pair = out.word_logits[:, word_ids].softmax(-1).tolist()
                for it, (p_yes, p_no) in zip(items, pair):
                    r = results[it.index]
                    r.qa_p_yes, r.qa_p_no = float(p_yes), float(p_no)
                    r.qa_answer = "yes" if p_yes >= p_no else "no"

    def _mean_over_views(self, items: list[_Item], frames: torch.Tensor, fragments: torch.Tensor, batch: dict,
                         score: torch.Tensor, level_probs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Perception's score and level distribution averaged over the test-time views; the first view (the
        model's own) is the `score` / `level_probs` already computed."""
        model, processor = self.model, self.processor
        samplings = [fragments] + [torch.stack([it.extra_fragments[k] for it in items])
                                   for k in range(len(items[0].extra_fragments))]
        views = self.views
        for view in views[1:]:
            view_frames, view_fragments = apply_view(frames, samplings[view.sampling], view.transform)
            motion = model.encode_motion(normalize_fragments(view_fragments.to(self.device)).to(model.dtype))
            out = model("perception", pixel_values=normalize_frames(view_frames.to(self.device)).to(model.dtype),
                        motion_features=motion, context_id=processor.image_context_id, **batch)
            score = score + out.score
            level_probs = level_probs + out.word_logits[:, processor.level_token_ids].softmax(-1)
        return score / len(views), level_probs / len(views)


def run_tasks(model: LoveModel, processor: LoveProcessor, batches: dict[str, dict], pixel_values: torch.Tensor,
              motion_features: torch.Tensor, one_pass: bool = False) -> dict[str, LoveOutput]:
    """Each task's outputs on one batch of videos (`batches`: task -> its tokenised prompts for those videos, on
    the model's device): a pass per task, or with `one_pass` one `forward_tasks` pass over the batch repeated
    once per task (the prompts stacked task by task)."""
    if not one_pass:
        return {task: model(task, pixel_values=pixel_values, motion_features=motion_features,
                            context_id=processor.image_context_id, **batch) for task, batch in batches.items()}
    tasks, n = list(batches), pixel_values.shape[0]
    out = model.forward_tasks([task for task in tasks for _ in range(n)],
                              pixel_values=pixel_values.repeat(len(tasks), 1, 1, 1, 1),
                              motion_features=motion_features.repeat(len(tasks), 1, 1),
                              context_id=processor.image_context_id, **processor.concat(list(batches.values())))
    return {task: LoveOutput(hidden=out.hidden[k * n:(k + 1) * n], score=out.score[k * n:(k + 1) * n],
                             word_logits=out.word_logits[k * n:(k + 1) * n]) for k, task in enumerate(tasks)}


# Allocation failures that CUDA libraries raise as a plain RuntimeError instead of torch.OutOfMemoryError.
_OOM_MESSAGES = ("out of memory", "CUBLAS_STATUS_ALLOC_FAILED", "CUDNN_STATUS_ALLOC_FAILED",
                 "CUDNN_STATUS_NOT_ENOUGH_WORKSPACE", "CUBLAS_STATUS_NOT_INITIALIZED")


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether an exception is a device allocation failure (which a smaller batch can avoid)."""
    if isinstance(exc, torch.OutOfMemoryError):
        return True
    return isinstance(exc, RuntimeError) and any(m in str(exc) for m in _OOM_MESSAGES)


def _aligned(values: Sequence | None, n: int, what: str) -> list:
    if values is None:
        return [None] * n
    if isinstance(values, (str, int, float)):
        values = [values] * n
    values = list(values)
    if len(values) != n:
        raise LoveError(f"got {len(values)} {what} for {n} videos")
    return values


def _missing_text(tasks: Iterable[str], prompt: str | None, question: str | None) -> str | None:
    if "correspondence" in tasks and not (prompt and prompt.strip()):
        return "the correspondence task needs a text prompt for this video (none or empty given)"
    if "qa" in tasks and not (question and question.strip()):
        return "the qa task needs a question for this video (none or empty given)"
    return None


# -- loading ------------------------------------------------------------------------------------------
def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def default_num_workers(device: torch.device) -> int:
    """Decoding worker processes: none on the CPU (decoding would take cores from the model), and on a GPU up
    to 4 per GPU (a 720p clip takes 0.3-0.5 s to decode against about 0.13 s of GPU time per video and task)."""
    if device.type != "cuda":
        return 0
    per_gpu = (os.cpu_count() or 1) // max(1, torch.cuda.device_count())
    return max(1, min(4, per_gpu))


def default_dtype(device: torch.device, dtype: torch.dtype | str | None = None) -> torch.dtype:
    """The dtype asked for, else bf16 on a GPU that supports it (fp32, with a warning, on one that does not,
    e.g. before Ampere) and fp32 on the CPU."""
    if isinstance(dtype, str):
        dtype = getattr(torch, dtype)
    if dtype is not None:
        return dtype
    if device.type != "cuda":
        return torch.float32
    if torch.cuda.is_bf16_supported(including_emulation=False):
        return torch.bfloat16
    logger.warning("%s does not support bfloat16: scoring in float32 (about twice the memory)",
                   torch.cuda.get_device_name(device))
    return torch.float32


def load(
    name_or_path: str | Path = "love-nano",
    device: str | torch.device | None = None,
    dtype: torch.dtype | str | None = None,
    batch_size: int = 8,
    num_workers: int | None = None,
    backend: str | None = None,
    cache_dir: str | Path | None = None,
    perception_views: int | None = None,
    qa_prompt: str | None = None,
    one_pass: bool = False,
    attention: str | None = None,
    packed: bool = False,
) -> Scorer:
    """Get a `Scorer` in one line.

    `num_workers`: decoding worker processes (default: `default_num_workers`, 0 on the CPU, up to 4 per GPU).
    `name_or_path`: a bundle directory (from `save_pretrained`, `love-eval train` or `love-eval
    convert`), "love-nano" (the packaged demonstration model), or "tiny-random" (random weights, for
    plumbing tests). Defaults: GPU with bf16 when available, else CPU with fp32. `perception_views`:
    test-time views averaged for the perception score (`love_plugins.views`; default: the model's own
    setting, 1 for LOVE's weights and 8 for love-nano). `qa_prompt`: "inference" or "training", the
    authors' QA prompt to ask with (default: the bundle's own; `LoveConfig.qa_prompt`). `one_pass`: the
    requested tasks in one forward pass (mixed-adapter batch) instead of one pass per task. `attention`: the
    LLM's attention implementation ("sdpa" by default, "flash_attention_2", "flex_attention", "eager");
    `packed`: the rows of a batch in one sequence without padding (`LoveModel.set_prefill`).
    """
    device = torch.device(device) if device is not None else default_device()
    dtype = default_dtype(device, dtype)
    num_workers = default_num_workers(device) if num_workers is None else num_workers
    name = str(name_or_path)
    if name == "tiny-random":
        from .modeling.tiny import build_tiny_model

        model, tokenizer = build_tiny_model()
        source = "tiny-random"
    else:
        # -- released LOVE weights: "love", "love-perception", "love-correspondence", "love-qa" are fetched
        # through the Hugging Face cache and converted once (love_plugins.convert.hub). -----------------
        from .convert.hub import RELEASED_NAMES, resolve_released

        if name in RELEASED_NAMES and not Path(name).exists():
            name = str(resolve_released(name))
        # -- end of released-weights routing ----------------------------------------------------------
        directory = PACKAGED_MODELS.get(name, Path(name))
        if name in PACKAGED_MODELS and not directory.is_dir():
            raise LoveError(f"{name} is not bundled in this installation (expected at {directory})")
        if not directory.exists():
            raise LoveError(
                f"{name}: no such bundle directory. Give a directory made by `love-eval convert` / "
                "`love-eval train`, or 'love-nano' for the packaged demonstration model."
            )
        from transformers import AutoTokenizer

        model = LoveModel.from_pretrained(directory, dtype=dtype, device=device)
        tokenizer = AutoTokenizer.from_pretrained(directory)
        source = str(directory)
    model.to(device).to_dtype(dtype)  # derived fp32 buffers (rotary frequencies) stay fp32
    return Scorer(model, tokenizer, device=device, batch_size=batch_size, num_workers=num_workers,
                  backend=backend, source=source, cache_dir=cache_dir, perception_views=perception_views,
                  qa_prompt=qa_prompt, one_pass=one_pass, attention=attention, packed=packed)
