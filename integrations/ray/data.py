"""Score a dataset on Ray Data: decode in CPU tasks, score in an actor pool holding the model, stream the rows.

    import ray
    from integrations.ray.data import score_dataset
    ds = ray.data.from_items([{"video": "/data/a.mp4", "prompt": "a red ball"}, ...])
    rows = score_dataset(ds, "love", tasks=("perception", "correspondence"), workers=4, gpus_per_worker=1)
    rows.write_parquet("scores/")        # or: for row in rows.iter_rows(): json.loads(row["row"])

`love-eval score --engine ray` runs this and writes the rows as the local engine does (same file, same rows,
resumable). Decoding is the local engine's (same sampler, same views); a video that cannot be read comes back
as a row with its `error`. A killed actor is restarted and its batch retried (`max_restarts`,
`max_task_retries`); the writer keeps one row per (video, prompt, question), so a retried batch cannot write a
video twice. Memory does not grow with the number of videos: Ray Data streams blocks through the pipeline.
"""

from __future__ import annotations

import argparse
import json
import pickle
from collections.abc import Iterator, Sequence

__all__ = ["add_arguments", "score_dataset", "score_rows"]


def _decode(row: dict, sampler, backend, tasks, extra_samplings: int) -> dict:
    """A CPU task: read one video into LOVE's two streams (exactly as the local engine's loader does)."""
    from love_plugins.scorer import _VideoFiles

    item = _VideoFiles([row["video"]], sampler, backend, None, tasks, [row.get("prompt")], [row.get("question")],
                       extra_samplings=extra_samplings)[0]
    return {"item": pickle.dumps(item), "prompt": row.get("prompt") or "", "question": row.get("question") or ""}


class _Scorer:
    """An actor of the pool: one loaded model, one model batch per call."""

    def __init__(self, model: str, tasks: Sequence[str], load_options: dict):
        from love_plugins import load

        self.scorer = load(model, num_workers=0, **load_options)
        self.tasks = tuple(tasks)

    def __call__(self, batch: dict) -> dict:
        items = [pickle.loads(blob) for blob in batch["item"]]
        for position, item in enumerate(items):
            item.index = position
        prompts = [p or None for p in batch["prompt"]]
        questions = [q or None for q in batch["question"]]
        results = self.scorer.score_items(items, prompts, questions, self.tasks)
        return {"row": [json.dumps(r.to_dict()) for r in results]}


def score_dataset(ds, model: str = "love-nano", *, tasks: Sequence[str], sampler=None, backend: str | None = None,
                  extra_samplings: int = 0, workers: int = 1, gpus_per_worker: float = 0.0,
                  decode_workers: int | None = None, batch_size: int = 8, max_restarts: int = 3,
                  **load_options):
    """A Dataset of result rows (`row`: one VideoScore as JSON) from a Dataset of {video, prompt?, question?}.

    `sampler`/`extra_samplings` default to the model's own (read from a scorer loaded on the CPU here)."""
    if sampler is None:
        from love_plugins import load

        # the sampler only: the prefill options (a GPU's attention kernels) do not matter to it
        local = load(model, **{**load_options, "device": "cpu", "backend": backend, "attention": None, "packed": False})
        sampler, extra_samplings = local.sampler, local._extra_samplings(tasks)
    decode_options = {"num_cpus": 1}
    if decode_workers:
        decode_options["concurrency"] = decode_workers
    decoded = ds.map(_decode, fn_kwargs={"sampler": sampler, "backend": backend, "tasks": tuple(tasks),
                                         "extra_samplings": extra_samplings}, **decode_options)
    return decoded.map_batches(
        _Scorer, fn_constructor_kwargs={"model": model, "tasks": tuple(tasks),
                                        "load_options": {**load_options, "backend": backend,
                                                         "batch_size": batch_size}},
        batch_size=batch_size, batch_format="numpy", concurrency=workers, num_gpus=gpus_per_worker,
        num_cpus=1 if not gpus_per_worker else None, max_restarts=max_restarts, max_task_retries=max_restarts)


# -- love-eval score --engine ray -----------------------------------------------------------------------
def add_arguments(group: argparse._ArgumentGroup) -> None:
    from love_plugins.commands import options

    group.add_argument("--address", default=None,
                       help="Ray cluster to join ('auto', 'ray://HOST:10001'); default: start a local instance")
    group.add_argument("--ray-workers", type=options.int_at_least(1, 100_000), default=1,
                       help="scoring actors, each holding the model (default: %(default)s)")
    group.add_argument("--gpus-per-worker", type=options.float_in(0.0, 64.0), default=0.0,
                       help="GPUs per scoring actor (default: %(default)s; 1 on a GPU cluster)")
    group.add_argument("--decode-workers", type=options.int_at_least(1, 100_000), default=None,
                       help="concurrent decoding tasks (default: as many as Ray schedules)")
    group.add_argument("--ray-num-cpus", type=options.int_at_least(1, 100_000), default=None,
                       help="CPUs of the local Ray instance (default: all)")


def score_rows(args: argparse.Namespace, scorer, videos, prompts, questions, tasks, progress: bool) -> Iterator[dict]:
    """The rows of `videos` (in completion order), for the score command's writer."""
    from tqdm.auto import tqdm

    from . import init_ray

    ray = init_ray(args.address, num_cpus=args.ray_num_cpus)
    ray.data.DataContext.get_current().enable_progress_bars = False
    ds = ray.data.from_items([{"video": v, "prompt": p or "", "question": q or ""}
                              for v, p, q in zip(videos, prompts, questions)])
    load_options = {"device": args.device, "dtype": args.dtype, "perception_views": args.perception_views,
                    "qa_prompt": args.qa_prompt, "one_pass": args.one_pass,
                    "attention": args.attention, "packed": args.packed}
    rows = score_dataset(ds, args.model, tasks=tasks, sampler=scorer.sampler, backend=args.backend,
                         extra_samplings=scorer._extra_samplings(tasks), workers=args.ray_workers,
                         gpus_per_worker=args.gpus_per_worker, decode_workers=args.decode_workers,
                         batch_size=args.batch_size, **load_options)
    with tqdm(total=len(videos), desc="scoring (ray)", unit="video", disable=not progress) as bar:
        for row in rows.iter_rows():
            bar.update(1)
            yield json.loads(row["row"])
