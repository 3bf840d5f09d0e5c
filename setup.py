"""Only what pyproject.toml cannot say: the wheel also carries `love_plugins_vbench.pth`, the one line that puts
the LOVE dimensions into VBench when VBench is imported (`integrations/vbench/hook.py`; off with
LOVE_PLUGINS_VBENCH_HOOK=0). Editable installs get it from `python -m integrations.vbench.hook install`
(scripts/install.sh)."""

import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

sys.path.insert(0, str(Path(__file__).resolve().parent))
from integrations.vbench.hook import PTH_LINE, PTH_NAME  # noqa: E402 - standard library only


class BuildPyWithHook(build_py):
    def run(self):
        super().run()
        Path(self.build_lib, PTH_NAME).write_text(PTH_LINE, encoding="utf-8")

    def get_outputs(self, include_bytecode=1):
        return [*super().get_outputs(include_bytecode), str(Path(self.build_lib, PTH_NAME))]


setup(cmdclass={"build_py": BuildPyWithHook})
