"""Sharding work across processes launched by `torchrun` or `accelerate launch`.

The same command runs on one process, several GPUs of one node, or several nodes: each rank scores
its own shard and writes its own results file; rank 0 merges the files in input order after a
barrier, so the merged output is identical whatever the number of processes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    def device(self) -> torch.device:
        """This rank's device: its own GPU under a launcher, else the CPU."""
        if torch.cuda.is_available():
            return torch.device("cuda", self.local_rank)
        return torch.device("cpu")

    def shard(self, n: int) -> list[int]:
        """Indices this rank handles: a strided slice, so ranks get similar mixes of long and short work."""
        return list(range(self.rank, n, self.world_size))

    def barrier(self) -> None:
        if self.enabled:
            torch.distributed.barrier()


def init_from_env() -> DistContext:
    """Join the process group a launcher set up (WORLD_SIZE/RANK/LOCAL_RANK); a no-op otherwise."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistContext()
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if not torch.distributed.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(local_rank)
        torch.distributed.init_process_group(backend=backend)
    return DistContext(rank=rank, world_size=world_size, local_rank=local_rank)


def shutdown(ctx: DistContext) -> None:
    if ctx.enabled and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def rank_path(path: Path, ctx: DistContext) -> Path:
    """`scores.jsonl` → `scores.rank1-of-4.jsonl`; unchanged on a single process."""
    if not ctx.enabled:
        return path
    return path.with_name(f"{path.stem}.rank{ctx.rank}-of-{ctx.world_size}{path.suffix}")
