"""The `lmms_eval` console command: lmms-eval's own CLI (same arguments as `lmms-eval`).

lmms-eval installs its command as `lmms-eval`; this package adds the underscore spelling so that
`lmms_eval --tasks aigve60k_sample --model love` works as typed. Our task folder is indexed for
every subcommand (also `lmms_eval tasks list`, which does not load model plugins by itself).
"""

from __future__ import annotations


def main() -> None:
    from integrations.lmms_eval.plugin import extend_task_manager

    extend_task_manager()
    from lmms_eval.cli.dispatch import main as lmms_eval_main

    lmms_eval_main()


if __name__ == "__main__":
    main()
