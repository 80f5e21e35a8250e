"""The sandbox process: moto server, the provisioned stack, the local gateways, the simulator.

Started detached by `amops sandbox up` as `python -m amops.sandbox.server --workspace DIR`; it
writes .sandbox/state.json when ready and serves a small control API on loopback (status, tick,
shutdown). Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from amops.sandbox import LOOPBACK, regions
from amops.sandbox.workspace import Workspace


def start_moto(port: int) -> tuple[Any, str]:
    """moto's server app on loopback, bound here so a busy port fails at once."""
    from amops.sandbox.speedups import install

    install()
    from moto.core.config import default_user_config
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    if port:  # werkzeug exits the process itself on a busy port: find out first
        with socket.socket() as probe:
            probe.bind((LOOPBACK, port))
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request drowns the log
    # Before any function exists: moto's Lambda runs no Docker; the gateway runs the code.
    default_user_config["lambda"]["use_docker"] = False
    server = make_server(
        LOOPBACK,
        port,
        DomainDispatcherApplication(create_backend_app),
        threaded=True,
        request_handler=MotoRequestHandler,
    )
    threading.Thread(target=server.serve_forever, daemon=True, name="moto").start()
    return server, f"http://{LOOPBACK}:{server.server_port}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="amops.sandbox.server")
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--hot-events", type=int, default=None)
    parser.add_argument("--bulk-env", default=None)
    args = parser.parse_args(argv)
    workspace = Workspace(args.workspace)
    started = time.time()
    try:
        moto, endpoint = start_moto(args.port)
    except OSError as error:
        print(f"port {args.port} on {LOOPBACK} is not free: {error.strerror}", file=sys.stderr)
        return 3

    from amops.config import load_config
    from amops.sandbox.accounts import Account
    from amops.sandbox.gateway import ApiGateway, FunctionRunner, serve
    from amops.sandbox.simulator import Simulator
    from amops.sandbox.stack import StackOptions, provision

    # Bind every gateway first: their URLs go into the configuration and the var files.
    sockets = {}
    for env in ("dev", "sit", "prod"):
        for region in regions(env):
            sockets[(env, region)] = ThreadingHTTPServer((LOOPBACK, 0), BaseHTTPRequestHandler)
    api_urls = {key: f"http://{LOOPBACK}:{server.server_port}/v1" for key, server in sockets.items()}
    workspace.write_settings(endpoint, api_urls)
    config = load_config(workspace.config_file)
    say = lambda message: print(f"{time.time() - started:6.1f}s {message}", flush=True)  # noqa: E731
    from amops.sandbox.bulk import InProcessLoader

    today = datetime.now(UTC).date()
    options = StackOptions(
        workspace.path,
        args.events,
        today,
        api_urls,
        say,
        InProcessLoader,
        hot_events=args.hot_events,
        bulk_env=args.bulk_env,
    )
    provision(endpoint, config, options)

    servers = []
    for (env, region), placeholder in sockets.items():
        port = placeholder.server_port
        placeholder.server_close()
        names = config.resource_names(env)
        account = Account(endpoint, env)
        runner = FunctionRunner(account, region, names["artifacts_bucket"], workspace.code_dir)
        gateway = ApiGateway(
            account,
            region,
            names["api"],
            names["stage"],
            names["functions"]["audit-writer"],
            names["api_log_group"],
            runner,
        )
        server = serve(gateway, LOOPBACK, port)
        threading.Thread(target=server.serve_forever, daemon=True, name=f"gateway-{env}-{region}").start()
        servers.append(server)

    simulator = Simulator(endpoint, config)
    stop = threading.Event()
    state: dict[str, Any] = {}
    control = _control_server(simulator, stop, lambda: state)
    threading.Thread(target=control.serve_forever, daemon=True, name="control").start()
    state |= {
        "pid": os.getpid(),
        "endpoint": endpoint,
        "control": f"http://{LOOPBACK}:{control.server_port}",
        "gateways": {f"{env}/{region}": url for (env, region), url in api_urls.items()},
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seeded_on": today.isoformat(),  # the seed's `today`: generate_events(env, events, today, hot_count=…)
        "events": args.events,
        "hot_events": args.hot_events,
        "bulk_env": args.bulk_env,
        "workspace": str(workspace.path),
        "ready": True,
    }
    temporary = workspace.state_file.with_suffix(".tmp")
    temporary.write_text(json.dumps(state, indent=2))
    temporary.replace(workspace.state_file)
    say(f"ready: {endpoint}")

    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    for server in [*servers, control, moto]:
        server.shutdown()
    workspace.state_file.unlink(missing_ok=True)
    return 0


def _control_server(simulator: Any, stop: threading.Event, state: Any) -> ThreadingHTTPServer:
    class Control(BaseHTTPRequestHandler):
        def _send(self, status: int, document: Any) -> None:
            data = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # http.server's name
            if self.path == "/status":
                self._send(
                    200,
                    {
                        **state(),
                        "now": simulator.now().isoformat(timespec="seconds"),
                        "clock_offset_hours": simulator.offset.total_seconds() / 3600,
                    },
                )
            else:
                self._send(404, {"message": "not found"})

        def do_POST(self) -> None:  # http.server's name
            url = urlparse(self.path)
            if url.path == "/tick":
                hours = float(parse_qs(url.query).get("hours", ["1"])[0])
                self._send(200, simulator.tick(hours).as_dict())
            elif url.path == "/shutdown":
                self._send(200, {"stopping": True})
                stop.set()
            else:
                self._send(404, {"message": "not found"})

        def log_message(self, format: str, *args: Any) -> None:  # http.server's signature
            pass

    return ThreadingHTTPServer((LOOPBACK, 0), Control)


if __name__ == "__main__":
    sys.exit(main())
