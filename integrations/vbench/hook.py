"""The LOVE dimensions wherever VBench runs, in a process that never imported this package.

VBench has no plugin API: `VBench.evaluate` imports `vbench.<dimension>` and its CLI launches a fresh
torchrun process per GPU. So, without editing any installed vbench file, a one-line `.pth` file in
site-packages (`love_plugins_vbench.pth`, run by Python at interpreter start) calls `install()`, which puts a
small import hook in `sys.meta_path`. It costs one cheap import at start-up and does nothing else until a
program imports `vbench` (or `vbench2`); right after that package's own `__init__` has run, `register`:

- routes `vbench.love_perception`, `vbench.love_correspondence`, `vbench.love_task_accuracy` to this
  package's dimension modules (`sys.modules` aliases: `importlib.import_module("vbench.love_perception")`
  finds them);
- replaces the package's evaluator class (`vbench.VBench`, `vbench2.VBench2`) by its subclass with the LOVE
  dimensions (`LoveDimensionsMixin`), so `VBench(...).evaluate(dimension_list=["love_perception", ...])`,
  VBench's CLI and every rank it starts score them; other dimensions run exactly as before.

The `.pth` file is installed with the package (`pip install`), or by `python -m integrations.vbench.hook
install` (scripts/install.sh does this for editable installs). Turn it off with the environment variable
`LOVE_PLUGINS_VBENCH_HOOK=0`, or remove it: `python -m integrations.vbench.hook uninstall`.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from pathlib import Path

from .._after_import import AfterImport

PTH_NAME = "love_plugins_vbench.pth"
PTH_LINE = "import integrations.vbench.hook as _love_vbench_hook; _love_vbench_hook.install()\n"
ENV_SWITCH = "LOVE_PLUGINS_VBENCH_HOOK"
PACKAGES = {"vbench": "VBench", "vbench2": "VBench2"}  # package -> its evaluator class


def enabled() -> bool:
    return os.environ.get(ENV_SWITCH, "1").strip().lower() not in ("0", "false", "no", "off")


def register(module) -> None:
    """Add the LOVE dimensions to an imported vbench / vbench2 package (idempotent)."""
    from .mixin import LoveDimensionsMixin, love_evaluator_class
    from .route import install_module_route

    package = module.__name__
    install_module_route((package,))
    evaluator = getattr(module, PACKAGES[package], None)
    if isinstance(evaluator, type) and not issubclass(evaluator, LoveDimensionsMixin):
        setattr(module, PACKAGES[package], love_evaluator_class(evaluator, package))


def _register_quietly(module) -> None:
    try:
        register(module)
    except Exception as exc:  # never break the user's own vbench run
        print(f"love-plugins: LOVE dimensions not added to {module.__name__}: {exc}", file=sys.stderr)


def install() -> None:
    """Put the import hook in place (what the .pth file calls); packages already imported are registered now."""
    if not enabled():
        return
    AfterImport(PACKAGES, _register_quietly, key="love-plugins:vbench").install()
    for package in PACKAGES:
        if package in sys.modules:
            register(sys.modules[package])


def pth_path() -> Path:
    return Path(sysconfig.get_paths()["purelib"]) / PTH_NAME


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    action = args[0] if args else "status"
    path = pth_path()
    if action == "install":
        path.write_text(PTH_LINE, encoding="utf-8")
        print(f"installed {path}")
    elif action == "uninstall":
        path.unlink(missing_ok=True)
        print(f"removed {path}")
    elif action == "status":
        state = "installed" if path.is_file() else "not installed"
        print(f"{path}: {state}; {ENV_SWITCH}={'on' if enabled() else 'off'}")
    else:
        print("usage: python -m integrations.vbench.hook [install|uninstall|status]", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
