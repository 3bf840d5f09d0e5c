"""`love-eval serve` (Ray Serve) driven over real HTTP on 127.0.0.1: the real command in a subprocess with a
local Ray instance, love-nano, and clients that are not ours (urllib with raw bodies) beside LoveClient.
Every loop is bounded in count and time."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

pytest.importorskip("ray.serve", reason="needs the [ray] extra: pip install -e '.[ray]'")

import love_plugins  # noqa: E402
from love_plugins.client import LoveClient, ServiceError  # noqa: E402
from love_plugins.reward import LoveReward  # noqa: E402
from love_plugins.synth import generate_suite  # noqa: E402
from love_plugins.synth.video import read_frames  # noqa: E402

pytestmark = pytest.mark.slow
STARTUP_S = 180


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve_suite")
    generate_suite(root, num_videos=16, seed=4)
    rows = [json.loads(line) for line in (root / "manifest.jsonl").read_text().splitlines()]
    return root, rows


@pytest.fixture(scope="module")
def server(suite, tmp_path_factory):
    root, _ = suite
    port = _free_port()
    key_file = tmp_path_factory.mktemp("key") / "key.txt"
    key_file.write_text("s3cret-key\n")
    log = tmp_path_factory.mktemp("serve_log") / "serve.log"
    command = [sys.executable, "-m", "love_plugins.cli", "serve", "--video-root", str(root), "--port", str(port),
               "--num-cpus", "4", "--perception-views", "1", "--max-batch-size", "8", "--max-ongoing-requests", "4",
               "--max-queued-requests", "12", "--max-body-mb", "4", "--max-videos", "8", "--timeout-s", "120",
               "--api-key-file", str(key_file), "--run-for-s", "900"]
    env = {**os.environ, "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0"}
    with log.open("w") as handle:
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True, env=env)
    deadline = time.monotonic() + STARTUP_S
    while "serving at" not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            pytest.fail(f"love-eval serve did not start:\n{log.read_text()[-3000:]}")
        time.sleep(1)
    yield f"http://127.0.0.1:{port}", "s3cret-key", log
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGINT)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(60)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def local():
    return love_plugins.load("love-nano", device="cpu", perception_views=1)


def _post(url: str, body: bytes, key: str | None = "s3cret-key", timeout: float = 120) -> tuple[int, dict | str]:
    """A plain HTTP client: (status, JSON body or text)."""
    request = urllib.request.Request(url + "/v1/score", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        text = exc.read().decode("utf-8", "replace")
        try:
            return exc.code, json.loads(text)
        except json.JSONDecodeError:
            return exc.code, text


def test_sixteen_concurrent_clients_get_the_in_process_scores(server, suite, local):
    url, key, _ = server
    root, rows = suite
    expected = local.score([str(root / r["video"]) for r in rows], [r["prompt"] for r in rows],
                           [r["question"] for r in rows])

    def one(i):
        client = LoveClient(url, api_key=key, timeout_s=120)
        return client.score([rows[i]["video"]], [rows[i]["prompt"]], [rows[i]["question"]])[0]

    with ThreadPoolExecutor(16) as pool:
        got = list(pool.map(one, range(16)))
    for g, e in zip(got, expected):
        assert g.error is None and g.video == rows[got.index(g)]["video"]
        assert g.perception == pytest.approx(e.perception, abs=1e-3)
        assert g.correspondence == pytest.approx(e.correspondence, abs=1e-3)
        assert g.qa_answer == e.qa_answer and g.qa_p_yes == pytest.approx(e.qa_p_yes, abs=1e-4)


def test_uploads_arrays_and_the_remote_reward_equal_in_process(server, suite, local):
    url, key, _ = server
    root, rows = suite
    paths = [str(root / r["video"]) for r in rows[:3]]
    prompts = [r["prompt"] for r in rows[:3]]
    expected = local.score(paths, prompts)
    uploaded = LoveClient(url, api_key=key, send_files="bytes").score(paths, prompts)
    frames = [read_frames(p) for p in paths]
    arrays = LoveClient(url, api_key=key).score(frames, prompts)
    for u, a, e in zip(uploaded, arrays, expected):
        assert u.perception == pytest.approx(e.perception, abs=1e-3) == a.perception
        assert u.correspondence == pytest.approx(e.correspondence, abs=1e-3)
    assert uploaded[0].video == paths[0] and arrays[0].video == "array-0"
    remote = LoveReward.remote(url, api_key=key)(frames, prompts)
    here = LoveReward(local)(frames, prompts)
    assert remote.valid.all() and np.allclose(remote.rewards.numpy(), here.rewards.numpy(), atol=2e-5)
    assert LoveClient(url, api_key=key).describe()["model"].startswith("love-nano")


def test_bad_requests_get_a_4xx_naming_the_problem_and_the_server_stays_up(server, suite):
    url, key, _ = server
    root, rows = suite
    clip = (root / rows[0]["video"]).read_bytes()
    cases = {
        b"{not json": (400, "not valid JSON"),
        json.dumps({"videos": [{"mp4": "***not base64***"}]}).encode(): (400, "not valid base64"),
        json.dumps({"videos": [{"mp4": base64.b64encode(clip[: len(clip) // 3]).decode()}]}).encode():
            (422, "not a readable video"),
        json.dumps({"videos": [{"path": "../../../etc/passwd"}]}).encode(): (403, "outside the server's video root"),
        json.dumps({"videos": [{"path": rows[0]["video"]}] * 9}).encode(): (413, "the limit is 8"),
        json.dumps({"videos": [{"array": {"shape": [2, 8, 8, 3], "dtype": "uint8", "data": "AAAA"}}]}).encode():
            (400, "bytes of data for shape"),
        json.dumps({"videos": [{"path": rows[0]["video"]}], "tasks": ["beauty"]}).encode(): (400, "'tasks'"),
        json.dumps({"videos": [{"path": rows[0]["video"]}], "prompts": ["a", "b"]}).encode(): (400, "'prompts'"),
    }
    for body, (status, words) in cases.items():
        code, answer = _post(url, body)
        assert code == status and words in answer["error"], (body[:80], code, answer)
    code, answer = _post(url, b"x" * (5 * 2**20))
    assert code == 413 and "over the limit" in answer["error"]
    assert _post(url, json.dumps({"videos": [{"path": rows[0]["video"]}]}).encode(), key=None)[0] == 401
    assert _post(url, json.dumps({"videos": [{"path": rows[0]["video"]}]}).encode(), key="wrong")[0] == 401
    code, answer = _post(url, json.dumps({"videos": [{"path": rows[0]["video"]}]}).encode())
    assert code == 200 and answer["results"][0]["perception"] is not None


def test_overload_answers_503_then_recovers(server, suite):
    url, key, _ = server
    _, rows = suite
    body = json.dumps({"videos": [{"path": r["video"]} for r in rows[:8]],
                       "prompts": [r["prompt"] for r in rows[:8]]}).encode()
    with ThreadPoolExecutor(48) as pool:
        codes = [code for code, _ in pool.map(lambda _: _post(url, body, timeout=300), range(48))]
    assert set(codes) <= {200, 503}, codes
    assert codes.count(503) > 0 and codes.count(200) >= 16  # 4 at work + 12 queued per replica
    code, answer = _post(url, body)
    assert code == 200 and len(answer["results"]) == 8


def test_a_killed_replica_is_restarted_and_no_request_hangs(server, suite):
    url, key, _ = server
    _, rows = suite
    client = LoveClient(url, api_key=key, timeout_s=60, retries=0)
    old_pid = client.health()["pid"]
    os.kill(old_pid, signal.SIGKILL)
    outcomes, deadline = [], time.monotonic() + 150
    while time.monotonic() < deadline and len(outcomes) < 200:
        started = time.monotonic()
        try:
            result = client.score([rows[1]["video"]])[0]
            outcomes.append(("ok", result.perception))
        except ServiceError as exc:
            outcomes.append(("error", str(exc)))
            assert exc.status in (500, 502, 503, 504, None) and str(exc).strip(), exc
        assert time.monotonic() - started < 65  # never hangs past the client's timeout
        if outcomes[-1][0] == "ok":
            break
        time.sleep(1)
    assert outcomes and outcomes[-1][0] == "ok", outcomes[-5:]
    assert client.health()["pid"] != old_pid


def test_serve_refuses_a_public_address_without_a_key(tmp_path):
    from love_plugins.cli import main

    assert main(["serve", "--host", "0.0.0.0", "--port", str(_free_port()), "--run-for-s", "1"]) == 2
