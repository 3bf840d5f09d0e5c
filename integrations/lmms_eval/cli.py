"""The `lmms_eval` console command: lmms-eval's own CLI (same arguments as `lmms-eval`), failing loudly.

lmms-eval installs its command as `lmms-eval`; this package adds the underscore spelling so that
`lmms_eval --tasks aigve60k_sample --model love` works as typed. Our task folder is indexed for
every subcommand (also `lmms_eval tasks list`, which does not load model plugins by itself).

lmms-eval 0.7.3 logs an evaluation that raised (a task error, a missing data root, a model that cannot
load) and still exits 0. This command runs the same code, but an evaluation that raised makes it exit 1
with the reason on the last line of stderr. Arguments and outputs are otherwise lmms-eval's.

Exit codes: 0 every evaluation ran; 1 an evaluation failed (reason on the last line); 2 bad arguments
(lmms-eval's argument parser).
"""

from __future__ import annotations

import sys


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def main() -> None:
    from integrations.lmms_eval.plugin import extend_task_manager

    extend_task_manager()
    import lmms_eval.__main__ as lmms_eval_module
    from lmms_eval.cli.dispatch import main as lmms_eval_main

    failures: list[BaseException] = []
    evaluate_single = lmms_eval_module.cli_evaluate_single

    def recording(*args, **kwargs):  # what lmms-eval's cli_evaluate calls per configuration, inside its try
        try:
            return evaluate_single(*args, **kwargs)
        except Exception as exc:
            failures.append(exc)
            raise

    lmms_eval_module.cli_evaluate_single = recording
    code: int | str | None = 0
    try:
        lmms_eval_main()
    except SystemExit as exc:
        code = exc.code
    except Exception as exc:  # --verbosity DEBUG re-raises
        if not failures:
            failures.append(exc)
    if failures:
        sys.stdout.flush()
        print(f"lmms_eval: evaluation failed: {_reason(failures[0])}", file=sys.stderr)
        sys.exit(1)
    sys.exit(code)


if __name__ == "__main__":
    main()
