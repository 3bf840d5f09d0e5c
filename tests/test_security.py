"""No network at import or while scoring; weights never unpickled beyond weights_only."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import torch

GUARD = textwrap.dedent(
    """
    import socket
    def refuse(*args, **kwargs):
        raise RuntimeError("network access attempted")
    socket.socket.connect = refuse
    socket.socket.connect_ex = refuse
    socket.create_connection = refuse
    socket.getaddrinfo = refuse
    """
)


def test_imports_and_scoring_never_touch_the_network(tmp_path):
    code = GUARD + textwrap.dedent(
        f"""
        import love_plugins, love_plugins.cli, love_plugins.scorer
        import integrations.vbench
        love_plugins.cli.build_parser()
        from love_plugins.synth import generate_suite
        generate_suite({str(tmp_path)!r}, num_videos=2, seed=0)
        scorer = love_plugins.load("tiny-random")
        import glob
        results = scorer.score(sorted(glob.glob({str(tmp_path)!r} + "/videos/*/*.mp4")), prompts=["a", "b"])
        assert all(r.ok for r in results), results
        print("ok")
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={"PATH": "", "OMP_NUM_THREADS": "1", "HOME": str(tmp_path)})
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stderr[-2000:]


def test_pickled_code_in_a_checkpoint_is_refused(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "evil.pth"
    torch.save({"state_dict": Payload()}, path)
    from love_plugins.convert.sources import load_pickled_weights
    from love_plugins.errors import CheckpointError

    with pytest.raises(CheckpointError, match="arbitrary unpickling"):
        load_pickled_weights(path)
