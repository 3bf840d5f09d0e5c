"""LOVE beyond one machine, on Ray (`pip install -e ".[ray]"`).

- `love-eval serve` (`integrations.ray.serve`): a Ray Serve deployment with a FastAPI ingress; concurrent
  requests share model batches (`@serve.batch`). Clients: `love_plugins.client.LoveClient`,
  `love_plugins.reward.LoveReward.remote`.
- `love-eval score --engine ray` (`integrations.ray.data.score_dataset`): a Ray Data pipeline, decoding in CPU
  tasks and scoring in an actor pool, streaming rows to the same results file as the local engine.

Without `--address` each command starts a local Ray instance; `--address auto` or `ray://HOST:10001` joins a
cluster. The core (`love_plugins`) knows nothing of Ray: it finds these commands through entry points.
"""

from __future__ import annotations


def init_ray(address: str | None, num_cpus: int | None = None):
    """Join the cluster at `address`, or start a local instance (no dashboard; logs to the driver)."""
    try:
        import ray
    except ImportError as exc:
        from love_plugins.errors import LoveError

        raise LoveError(f"this needs Ray: pip install -e \".[ray]\" ({exc})") from None
    if ray.is_initialized():
        return ray
    options = {"include_dashboard": False, "log_to_driver": True, "ignore_reinit_error": True}
    if address:
        ray.init(address=address, **options)
    else:
        ray.init(num_cpus=num_cpus, **options)
    return ray
