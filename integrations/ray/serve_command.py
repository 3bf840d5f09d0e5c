"""Serve LOVE over HTTP on Ray Serve: POST /v1/score, GET /v1/model, GET /healthz (protocol: love_plugins.serving).

Binds 127.0.0.1 by default. Concurrent requests share model batches (--max-batch-size, --batch-wait-ms); an
overloaded server answers 503 and keeps serving. Without --address a local Ray instance is started;
`--address auto` or `ray://HOST:10001` joins a cluster. Clients: love_plugins.client.LoveClient(url),
LoveReward.remote(url). Needs `pip install -e ".[ray]"`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from love_plugins.commands import options

HELP = "serve LOVE over HTTP (Ray Serve): many trainer ranks, one model"


def _autoscaling(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"must be a JSON object, got {text!r} ({exc.msg})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"must be a JSON object, got {text!r}")
    return value


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="love-nano", help="bundle directory or name (default: %(default)s)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s, loopback)")
    parser.add_argument("--port", type=options.int_at_least(1, 65535), default=8000, help="(default: %(default)s)")
    parser.add_argument("--address", default=None,
                        help="Ray cluster to join ('auto', 'ray://HOST:10001'); default: start a local instance")
    parser.add_argument("--video-root", type=options.existing_dir, default=None,
                        help="folder whose files requests may name by path (default: paths refused)")
    parser.add_argument("--device", type=options.device, default=None, help="torch device of each replica")
    parser.add_argument("--dtype", default=None, choices=["float32", "bfloat16", "float16"])
    parser.add_argument("--perception-views", type=options.views, default=None,
                        help="test-time views of perception (default: the model's own)")
    parser.add_argument("--max-batch-size", type=options.batch_size, default=8,
                        help="videos per model batch across concurrent requests; 1 turns batching off "
                             "(default: %(default)s)")
    parser.add_argument("--batch-wait-ms", type=options.float_in(0.0, 60_000.0), default=10.0,
                        help="how long a batch waits to fill (default: %(default)s)")
    parser.add_argument("--replicas", type=options.int_at_least(1, 1024), default=1, help="(default: %(default)s)")
    parser.add_argument("--gpus-per-replica", type=options.float_in(0.0, 64.0), default=0.0,
                        help="(default: %(default)s; 1 on a GPU cluster)")
    parser.add_argument("--cpus-per-replica", type=options.float_in(0.0, 1024.0), default=1.0,
                        help="(default: %(default)s)")
    parser.add_argument("--max-ongoing-requests", type=options.int_at_least(1, 100_000), default=32,
                        help="requests one replica works on at once (default: %(default)s)")
    parser.add_argument("--max-queued-requests", type=options.int_at_least(-1, 1_000_000), default=64,
                        help="requests that wait beyond those; more get 503 (-1: no limit; default: %(default)s)")
    parser.add_argument("--autoscaling", type=_autoscaling, default=None,
                        help='Serve autoscaling_config as JSON, e.g. \'{"min_replicas": 1, "max_replicas": 4}\' '
                             "(replaces --replicas)")
    parser.add_argument("--max-body-mb", type=options.float_in(0.0, 65_536.0, low_open=True), default=256.0,
                        help="largest request body (default: %(default)s)")
    parser.add_argument("--max-videos", type=options.int_at_least(1, 100_000), default=64,
                        help="videos per request (default: %(default)s)")
    parser.add_argument("--timeout-s", type=options.float_in(0.0, 86_400.0, low_open=True), default=300.0,
                        help="per-request time limit; past it the answer is 504 (default: %(default)s)")
    parser.add_argument("--api-key-file", type=options.utf8_text_file, default=None,
                        help="file holding the API key clients must send (default: $LOVE_API_KEY, else none)")
    parser.add_argument("--insecure", action="store_true",
                        help="allow a non-loopback --host without an API key")
    parser.add_argument("--num-cpus", type=options.int_at_least(1, 100_000), default=None,
                        help="CPUs of the local Ray instance (default: all)")
    parser.add_argument("--run-for-s", type=options.float_in(0.0, 1e9, low_open=True), default=None,
                        help="stop after this many seconds (default: until Ctrl-C)")


def run(args: argparse.Namespace) -> int:
    try:
        from .serve import ServeOptions, start
    except ImportError as exc:
        print(f"love-eval serve: error: needs Ray Serve and FastAPI: pip install -e \".[ray]\" ({exc})",
              file=sys.stderr)
        return 2
    from love_plugins.serving import Limits

    key = args.api_key_file.read_text(encoding="utf-8").strip() if args.api_key_file else os.environ.get("LOVE_API_KEY")
    settings = ServeOptions(
        model=args.model, device=args.device, dtype=args.dtype, perception_views=args.perception_views,
        video_root=str(args.video_root) if args.video_root else None, max_batch_size=args.max_batch_size,
        batch_wait_ms=args.batch_wait_ms, replicas=args.replicas, gpus_per_replica=args.gpus_per_replica,
        cpus_per_replica=args.cpus_per_replica, max_ongoing_requests=args.max_ongoing_requests,
        max_queued_requests=args.max_queued_requests, autoscaling=args.autoscaling, api_key=key or None,
        limits=Limits(max_body_bytes=int(args.max_body_mb * 2**20), max_videos=args.max_videos,
                      timeout_s=args.timeout_s))
    try:
        url = start(settings, host=args.host, port=args.port, address=args.address, insecure=args.insecure,
                    num_cpus=args.num_cpus)
    except ValueError as exc:
        print(f"love-eval serve: error: {exc}", file=sys.stderr)
        return 2
    print(f"LOVE ({args.model}) serving at {url}: POST /v1/score, GET /v1/model, GET /healthz", flush=True)
    deadline = time.monotonic() + args.run_for_s if args.run_for_s else None
    try:
        while deadline is None or time.monotonic() < deadline:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    from ray import serve

    serve.shutdown()
    return 0
