"""The README's examples stay true: every shell command in it is checked against the command it calls.

`love-eval` commands are parsed by the real parser (subcommand, every flag, and a value from a fixed set of
choices); scripts, `python -m` modules, `lmms_eval` and `vbench` are checked against their `--help`; their
task and dimension names against what this package registers. Commands that install, download or need a
GPU are listed in `NOT_RUN` with the reason, and any command of a kind this test does not know fails it, so a
new example cannot go unchecked. The Python examples must compile.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

# first words of commands that are not checked here, and why
NOT_RUN = {
    ("python3", "-m", "venv"): "creates a virtual environment (CI's own first step)",
    (".",): "activates the virtual environment",
    ("pip", "install"): "installs packages (CI installs them from these files)",
    ("bash", "scripts/install.sh"): "installs everything (what CI runs)",
    ("python", "-m", "pytest"): "the test suite itself",
    ("pytest",): "the benchmarks (pytest-benchmark), run by hand",
    ("ruff",): "the linter (CI runs it)",
    ("hf", "download"): "downloads the released weights (no network here)",
    ("export",): "sets an environment variable",
}


def shell_commands(text: str) -> list[str]:
    """Each command of the README's ```bash blocks: continuation lines joined, comments and `&&` split off."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = re.sub(r"(^|\s)#.*$", "", line).strip()  # a comment (the examples put none inside quotes)
            commands += [part.strip() for part in line.split("&&") if part.strip()]
    return commands


def _words(command: str) -> list[str]:
    words = shlex.split(command)
    while words and re.fullmatch(r"[A-Z][A-Z0-9_]*=\S*", words[0]):  # VAR=value before the command
        words = words[1:]
    return words


@cache
def _love_eval_parser():
    from love_plugins.cli import build_parser

    return build_parser()


def check_love_eval(args: list[str]) -> None:
    parser = _love_eval_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    assert args[0] in commands, f"love-eval has no command {args[0]!r}"
    actions = {option: action for action in commands[args[0]]._actions for option in action.option_strings}
    for i, word in enumerate(args[1:], start=1):
        if not word.startswith("-") or re.fullmatch(r"-\d.*", word):
            continue
        option = word.split("=", 1)[0]
        assert option in actions, f"love-eval {args[0]} has no option {option}"
        choices = actions[option].choices
        if choices is not None and i + 1 < len(args):
            assert args[i + 1] in choices, f"love-eval {args[0]} {option}: {args[i + 1]!r} not in {choices}"


@cache
def _help_options(command: tuple[str, ...]) -> frozenset[str]:
    out = subprocess.run([*command, "--help"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, f"{' '.join(command)} --help: {out.stderr[-500:]}"
    return frozenset(re.findall(r"(?<![\w-])--[\w-]+", out.stdout))


def check_options(command: tuple[str, ...], args: list[str]) -> None:
    known = _help_options(command)
    for word in args:
        if word.startswith("--"):
            assert word.split("=", 1)[0] in known, f"{' '.join(command)} has no option {word}"


def _value(args: list[str], option: str) -> list[str]:
    """The words after `option` up to the next option."""
    if option not in args:
        return []
    rest = args[args.index(option) + 1:]
    return rest[: next((i for i, w in enumerate(rest) if w.startswith("--")), len(rest))]


def check_lmms_eval(args: list[str]) -> None:
    check_options((sys.executable, "-m", "integrations.lmms_eval.cli", "eval"), args)
    tasks_dir = ROOT / "integrations" / "lmms_eval" / "tasks"
    names = {m for path in tasks_dir.rglob("*.yaml")
             for m in re.findall(r"^(?:task|group): *(\w+)", path.read_text(), re.M)}
    for task in ",".join(_value(args, "--tasks")).split(","):
        assert task in names, f"lmms-eval task {task!r} is not one of this package's"


def check_vbench(args: list[str]) -> None:
    from integrations.vbench.dimensions import LOVE_DIMENSIONS

    assert args[0] == "evaluate"
    check_options(("vbench", "evaluate"), args[1:])
    vbench_own = {"temporal_flickering"}  # VBench's dimensions the examples name
    for dimension in _value(args, "--dimension"):
        assert dimension in set(LOVE_DIMENSIONS) | vbench_own, dimension


def check(command: str) -> str:
    """Check one README command; returns how it was checked (or why it was not)."""
    words = _words(command)
    for prefix, reason in NOT_RUN.items():
        if tuple(words[: len(prefix)]) == prefix:
            return f"not run: {reason}"
    if words[0] == "love-eval":
        check_love_eval(words[1:])
    elif words[0] == "torchrun" and "love_plugins.cli" in words:
        check_love_eval(words[words.index("love_plugins.cli") + 1:])
    elif words[0] == "python" and words[1].startswith("scripts/"):
        check_options((sys.executable, words[1]), words[2:])
    elif words[:3] == ["python", "-m", "integrations.vbench.report"]:
        check_options((sys.executable, "-m", "integrations.vbench.report"), words[3:])
    elif words[:3] == ["python", "-m", "integrations.vbench.hook"]:
        assert words[3] in ("install", "uninstall", "status")
    elif words[0] == "lmms_eval":
        check_lmms_eval(words[1:])
    elif words[0] == "vbench":
        check_vbench(words[1:])
    else:
        raise AssertionError(f"the README runs {command!r}, a kind of command this test does not check")
    return "checked"


COMMANDS = shell_commands(README.read_text())


def test_the_readme_starts_with_the_two_commands_of_a_fresh_machine():
    assert COMMANDS[:2] == ["python3 -m venv .venv", ". .venv/bin/activate"]
    assert "love-eval demo --out demo" in COMMANDS[:4] and "python -m pytest -q" in COMMANDS[:8]
    assert len(COMMANDS) > 30 and len(README.read_text().splitlines()) < 350


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_shell_example(command):
    check(command)


def test_the_checks_catch_a_wrong_example():
    for wrong in ("love-eval score a.mp4 --batchsize 4", "love-eval scores a.mp4", "love-eval score a.mp4 --backend av",
                  "love-eval train --task qa --stage 2 --data x --epoch 3", "make love", "lmms_eval --tasks aigve61k"):
        with pytest.raises(AssertionError):
            check(wrong)


@pytest.mark.parametrize("block", re.findall(r"```python\n(.*?)```", README.read_text(), re.S))
def test_readme_python_example_compiles(block):
    compile(block, "README.md", "exec")
