"""Every `love-eval` subcommand refuses a bad option value before it touches a file: exit code 2, one line on
stderr naming the option, no traceback, every existing file byte-identical afterwards (hypothesis generates
the values: negative, zero, huge, NaN, empty, wrong type, missing path, folder for file, file for folder,
non-UTF-8 file, a location that cannot be written)."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from love_plugins.cli import build_parser, main

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """Files a user has: results of an earlier run, a manifest, a folder of videos, a non-UTF-8 file."""
    root = tmp_path_factory.mktemp("ws")
    (root / "videos").mkdir()
    (root / "videos" / "a.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    (root / "scores.jsonl").write_text(json.dumps({"video": "a.mp4", "perception": 50.0}) + "\n" * 1)
    (root / "scores.jsonl.run.json").write_text('{"model": "tiny-random"}\n')
    (root / "manifest.jsonl").write_text(json.dumps({"video": "videos/a.mp4", "mos": 50}) + "\n")
    (root / "prompts.txt").write_text("a red ball\n")
    (root / "latin1.txt").write_bytes("a caf\xe9 prompt\n".encode("latin-1"))
    (root / "results").mkdir()
    (root / "results" / "results.json").write_text("{}\n")
    return root


def base_args(command: str, ws: Path) -> list[str]:
    """A valid command line of each subcommand (the option under test is appended to it)."""
    return {
        "demo": ["--out", str(ws / "results")],
        "synth": [str(ws / "new_suite")],
        "score": [str(ws / "videos" / "a.mp4"), "--model", "tiny-random", "--out", str(ws / "scores.jsonl"),
                  "--overwrite"],
        "evaluate": ["--dataset", "manifest", "--root", str(ws / "manifest.jsonl"), "--model", "tiny-random",
                     "--out", str(ws / "results")],
        "generalize": ["--datasets", f"manifest={ws / 'manifest.jsonl'}", "--model", "tiny-random",
                       "--out", str(ws / "results")],
        "train": ["--task", "perception", "--stage", "1", "--data", str(ws / "manifest.jsonl"),
                  "--output-dir", str(ws / "results")],
        "convert": [str(ws / "videos"), str(ws / "results")],
        "suite": ["--prompts", str(ws / "prompts.txt"), "--videos", str(ws / "videos"), "--name", "m",
                  "--out", str(ws / "results")],
        "reward-demo": ["--out", str(ws / "results"), "--steps", "1"],
        "serve": ["--run-for-s", "0.1", "--video-root", str(ws / "videos")],
    }[command]


def validated_options() -> list[tuple[str, argparse.Action]]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return [(name, action) for name, command in sub.choices.items() for action in command._actions
            if getattr(action.type, "kind", None)]


def bad_values(action: argparse.Action, ws: Path) -> list[str]:
    kind, fn = action.type.kind, action.type
    if kind in ("int", "float"):
        values = ["", "abc", "1e", "nan", "inf", "-inf", "1.5.2"]
        low, high = getattr(fn, "low", None), getattr(fn, "high", None)
        if low is not None:
            values += [str(low - 1), str(low - 1000)]
        if high is not None:
            values += [str(high + 1), "1" + "0" * 30]
        if kind == "int":
            values += ["2.5", "1e3"]
        return values
    if kind == "device":
        return ["", "gpu0", "cuda:x", "tpu:-1"]
    missing = str(ws / "does" / "not" / "exist")
    under_a_file = str(ws / "prompts.txt" / "inside.jsonl")
    return {
        "input_file": ["", missing, str(ws / "videos")],
        "input_dir": ["", missing, str(ws / "prompts.txt")],
        "input_path": ["", missing],
        "text_file": ["", missing, str(ws / "videos"), str(ws / "latin1.txt")],
        "output_file": ["", str(ws / "videos"), under_a_file],
        "output_dir": ["", str(ws / "prompts.txt"), under_a_file],
    }[kind]


def test_every_numeric_and_path_option_is_validated():
    """No subcommand declares an option as a bare int, float or Path: each goes through `commands.options`,
    so the guarantee cannot regress with the next flag."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    raw = [(name, a.dest) for name, command in sub.choices.items() for a in command._actions
           if a.type in (int, float, Path)]
    assert raw == []
    kinds = {getattr(a.type, "kind", None) for _, a in validated_options()}
    assert {"int", "float", "device", "text_file", "output_file", "output_dir"} <= kinds


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_bad_option_values_give_one_line_and_touch_nothing(workspace, data):
    command, action = data.draw(st.sampled_from(validated_options()), label="option")
    value = data.draw(st.sampled_from(bad_values(action, workspace)), label="value")
    args = base_args(command, workspace)
    if action.option_strings:
        argv = [command, *args, f"{action.option_strings[-1]}={value}" if value.startswith("-") else
                action.option_strings[-1], *([] if value.startswith("-") else [value])]
    else:  # a positional: the base command lines start with their positionals, in order
        parser = build_parser()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        positionals = [a.dest for a in sub.choices[command]._actions if not a.option_strings]
        argv = [command, *args]
        argv[1 + positionals.index(action.dest)] = value
    before = _snapshot(workspace)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(argv)
    lines = [line for line in err.getvalue().splitlines() if line.strip()]
    assert code == 2, (argv, err.getvalue())
    assert len(lines) == 1 and "Traceback" not in err.getvalue(), (argv, err.getvalue())
    assert lines[0].startswith(f"love-eval {command}: error: argument "), lines
    assert (action.option_strings[-1] if action.option_strings else action.metavar or action.dest) in lines[0]
    assert _snapshot(workspace) == before, argv


def test_the_ray_engine_without_ray_says_what_to_install(monkeypatch, tmp_path, capsys):
    """Without the [ray] extra, `score --engine ray` is one line naming the extra, not a ModuleNotFoundError."""
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    video = tmp_path / "a.mp4"
    video.write_bytes(b"\x00")
    assert main(["score", str(video), "--engine", "ray", "--model", "tiny-random", "--out",
                 str(tmp_path / "s.jsonl")]) == 2
    assert 'pip install -e ".[ray]"' in capsys.readouterr().err
