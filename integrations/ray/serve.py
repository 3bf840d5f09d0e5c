"""LOVE as an HTTP service on Ray Serve: `POST /v1/score`, `GET /v1/model`, `GET /healthz`.

The protocol (fields, limits, statuses) is `love_plugins.serving`. Each video of a request is one call of
the replica's batched method (`@serve.batch`), so videos of concurrent requests share model batches
(`max_batch_size`, `batch_wait_ms`). Overload is Serve's: past `max_ongoing_requests` per replica and
`max_queued_requests` waiting, the proxy answers 503 and the server goes on serving.
"""

# No `from __future__ import annotations`: FastAPI reads the handlers' annotations (Request) at runtime.

import asyncio
import ipaddress
import os
import socket
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from ray import serve

from love_plugins.serving import Limits, RequestError, check_api_key, parse_score_request, result_rows

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass
class ServeOptions:
    """Everything `love-eval serve` can set (the command's flags, one to one)."""

    model: str = "love-nano"
    device: str | None = None
    dtype: str | None = None
    perception_views: int | None = None
    video_root: str | None = None
    max_batch_size: int = 8
    batch_wait_ms: float = 10.0
    replicas: int = 1
    gpus_per_replica: float = 0.0
    cpus_per_replica: float = 1.0
    max_ongoing_requests: int = 32
    max_queued_requests: int = 64
    autoscaling: dict | None = None
    api_key: str | None = None
    limits: Limits = field(default_factory=Limits)


def is_loopback(host: str) -> bool:
    if host in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


api = FastAPI(title="LOVE scoring service")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


@serve.deployment(name="love")
@serve.ingress(api)
class LoveService:
    def __init__(self, options: dict):
        from love_plugins import load

        self.options = options
        self.limits = Limits(**options["limits"])
        self.scorer = load(options["model"], device=options["device"], dtype=options["dtype"],
                           batch_size=options["max_batch_size"], perception_views=options["perception_views"],
                           num_workers=0)
        self.model_info = {**self.scorer.describe(), "tasks": list(self.scorer.tasks)}
        self.score_video.set_max_batch_size(options["max_batch_size"])
        self.score_video.set_batch_wait_timeout_s(options["batch_wait_ms"] / 1000)

    def _authorised(self, request: Request) -> bool:
        return check_api_key(self.options["api_key"], request.headers)

    @api.get("/healthz")
    async def healthz(self, request: Request):
        if not self._authorised(request):
            return _error(401, "missing or wrong API key")
        return {"status": "ok", "pid": os.getpid(), "host": socket.gethostname()}

    @api.get("/v1/model")
    async def model(self, request: Request):
        if not self._authorised(request):
            return _error(401, "missing or wrong API key")
        return self.model_info

    @api.post("/v1/score")
    async def score(self, request: Request):
        if not self._authorised(request):
            return _error(401, "missing or wrong API key")
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.limits.max_body_bytes:
            # Read (and drop) what the client sends, up to a bound, so that it reads the 413 instead of a
            # broken pipe; a body past the bound is cut off.
            drained = 0
            async for chunk in request.stream():
                drained += len(chunk)
                if drained > 4 * self.limits.max_body_bytes:
                    break
            return _error(413, f"request body of {declared} bytes is over the limit of {self.limits.max_body_bytes}")
        try:
            parsed = parse_score_request(await request.body(), self.options["video_root"], self.limits)
        except RequestError as exc:
            return _error(exc.status, exc.message)
        with tempfile.TemporaryDirectory(prefix="love-upload-") as tmp:
            jobs = []
            for i, video in enumerate(parsed.videos):
                if isinstance(video, bytes):  # an upload is scored as a file, exactly as on disk
                    path = Path(tmp) / f"{i}{Path(parsed.names[i]).suffix or '.mp4'}"
                    path.write_bytes(video)
                    video = str(path)
                prompt = parsed.prompts[i] if parsed.prompts else None
                question = parsed.questions[i] if parsed.questions else None
                jobs.append((video, prompt, question, parsed.tasks))
            try:
                results = await asyncio.wait_for(asyncio.gather(*(self.score_video(job) for job in jobs)),
                                                 timeout=self.limits.timeout_s)
            except asyncio.TimeoutError:
                return _error(504, f"the request ran past the server's limit of {self.limits.timeout_s:g} s")
        errors = [r for r in results if isinstance(r, Exception)]
        if errors:
            return _error(400, str(errors[0]))
        return {"results": result_rows(results, parsed.names), "model": self.model_info["model"]}

    @serve.batch(max_batch_size=8, batch_wait_timeout_s=0.01)
    async def score_video(self, jobs: list[tuple]) -> list:
        """One model pass over the videos of every request waiting (grouped by the tasks they ask for)."""
        return await asyncio.to_thread(self._score_jobs, jobs)

    def _score_jobs(self, jobs: list[tuple]) -> list:
        from love_plugins.errors import LoveError

        out: list = [None] * len(jobs)
        groups: dict[tuple, list[int]] = {}
        for i, (_, prompt, question, tasks) in enumerate(jobs):
            wanted = tasks or self.scorer.default_tasks([prompt] if prompt else None, [question] if question else None)
            groups.setdefault(tuple(wanted), []).append(i)
        for tasks, members in groups.items():
            try:
                results = self.scorer.score([jobs[i][0] for i in members], [jobs[i][1] for i in members],
                                            [jobs[i][2] for i in members], tasks)
            except LoveError as exc:  # e.g. a task the model lacks: the request's fault, not the server's
                results = [exc] * len(members)
            for i, result in zip(members, results):
                out[i] = result
        return out


def build_app(options: ServeOptions):
    """The Serve application: one deployment, replicas and limits from `options`."""
    deployment_options = {
        "max_ongoing_requests": options.max_ongoing_requests,
        "max_queued_requests": options.max_queued_requests,
        "ray_actor_options": {"num_cpus": options.cpus_per_replica, "num_gpus": options.gpus_per_replica},
    }
    if options.autoscaling:
        deployment_options["autoscaling_config"] = options.autoscaling
    else:
        deployment_options["num_replicas"] = options.replicas
    settings = asdict(options)
    return LoveService.options(**deployment_options).bind(settings)


def start(options: ServeOptions, host: str = "127.0.0.1", port: int = 8000, address: str | None = None,
          insecure: bool = False, num_cpus: int | None = None):
    """Start Ray (or join `address`), then the HTTP proxy on host:port and the application; returns its URL."""
    if not is_loopback(host) and not options.api_key and not insecure:
        raise ValueError(f"refusing to serve on {host} without an API key (--api-key-file or LOVE_API_KEY); "
                         "pass --insecure to do it anyway")
    from . import init_ray

    init_ray(address, num_cpus=num_cpus)
    serve.start(http_options={"host": host, "port": port})
    serve.run(build_app(options), name="love", route_prefix="/")
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
