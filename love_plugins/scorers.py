"""Every scorer `love-eval evaluate / generalize --model NAME` can run, by name: LOVE models, the baselines
shipped here, and scorers other packages install.

A package adds a scorer with an entry point in the group `love_plugins.scorers`:

    [project.entry-points."love_plugins.scorers"]
    my-metric = "my_package.scoring:make_scorer"

`make_scorer(**options)` returns an object with the scorer protocol (`evaluation.harness.ScorerProtocol`):
`tasks`, `describe()` and `score(videos, prompts=None, questions=None, tasks=None, progress=False)` giving one
result per video in input order (`perception`, `correspondence`, `qa_answer`, ... and `error`). The factory may
carry an `info` dict for `love-eval scorers`: {"outputs": [...], "needs_gpu": bool, "needs_prompt": bool,
"weights": "found" | "missing" | "none needed"} (a callable returning that dict is also accepted).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

GROUP = "love_plugins.scorers"


@dataclass
class ScorerInfo:
    name: str
    source: str  # "love" (a LOVE model), "baseline" (shipped here), or the installing distribution
    outputs: tuple[str, ...]
    needs_gpu: bool
    needs_prompt: bool
    weights: str  # "found", "missing", "packaged", "none needed", "downloaded on first use"

    def to_dict(self) -> dict:
        return asdict(self)


def _entry_points() -> dict[str, Any]:
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=GROUP)}


def _love_models() -> list[ScorerInfo]:
    from .convert.hub import RELEASED_NAMES, bundle_dir

    rows = [ScorerInfo("love-nano", "love", ("perception", "correspondence", "qa"), False, False, "packaged")]
    for name, tasks in RELEASED_NAMES.items():
        found = (bundle_dir(name) / ".complete").is_file()
        rows.append(ScorerInfo(name, "love", tasks, True, "correspondence" in tasks,
                               "found" if found else "downloaded on first use"))
    return rows


def available() -> list[ScorerInfo]:
    """What `love-eval scorers` lists: LOVE models, shipped baselines, installed entry points."""
    from .baselines import BASELINES, baseline_info

    rows = _love_models()
    rows += [ScorerInfo(name, "baseline", **baseline_info(name)) for name in BASELINES]
    for name, ep in _entry_points().items():
        try:
            factory = ep.load()
            info = getattr(factory, "info", {})
            info = info() if callable(info) else dict(info)
        except Exception as exc:  # noqa: BLE001 - a broken plugin is listed with its reason, not fatal
            info = {"weights": f"cannot load: {type(exc).__name__}: {exc}"}
        rows.append(ScorerInfo(name, ep.dist.name if ep.dist else ep.value, tuple(info.get("outputs", ("perception",))),
                               bool(info.get("needs_gpu", False)), bool(info.get("needs_prompt", False)),
                               str(info.get("weights", "unknown"))))
    return rows


def resolve(name: str, **options: Any) -> Any:
    """A scorer by name: a shipped baseline, an installed entry point, else a LOVE model for `scorer.load`."""
    from .baselines import get_baseline, is_baseline

    if is_baseline(name):
        return get_baseline(name)
    plugins = _entry_points()
    if name in plugins:
        return plugins[name].load()(**{k: v for k, v in options.items() if v is not None})
    from . import scorer as scorer_module

    return scorer_module.load(name, **{k: v for k, v in options.items() if v is not None})
