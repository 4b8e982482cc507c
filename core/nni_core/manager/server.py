"""The manager process: arguments, logging, the listening socket, ``manager.json``, signals.

    python -m nni_core.manager --port P --experiment-id ID --action create|resume|view
        --experiments-directory DIR --log-level LEVEL [--url-prefix PFX] [--host 127.0.0.1]
        [--token TOKEN] [--foreground]

``--port 0`` binds a free port. Once the socket listens, ``<DIR>/<ID>/manager.json`` is written
atomically with ``{"pid", "port", "host", "url", "urlPrefix", "action", "startTime"}``: a
launcher waits for that file, then polls ``check-status`` (connections made before uvicorn
accepts them wait in the listen backlog, so there is no start-up race).

With ``--wait-for-arguments`` the process first imports what every manager needs, then reads
the rest of its arguments from stdin as one JSON line ``{"arguments": [...], "stdout": FILE,
"stderr": FILE}`` and sends its output to those files: a launcher starts it before it knows the
experiment's folder, so that this start-up overlaps reading the config. End of input before
that line (the launch was abandoned) makes it exit 0.

The manager binds 127.0.0.1 unless ``--host`` says otherwise; any other host requires
``--token`` and then every request must carry it. SIGTERM, SIGINT and ``DELETE /experiment``
stop the experiment gracefully (trials killed, state saved) and exit 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import ipaddress
import json
import logging
import os
import re
import signal
import socket
import sys
import time
from typing import Iterator

LOG_LEVELS = {"critical": logging.CRITICAL, "error": logging.ERROR, "warning": logging.WARNING,
              "info": logging.INFO, "debug": logging.DEBUG, "trace": logging.DEBUG}
_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
WAIT_FOR_ARGUMENTS = "--wait-for-arguments"


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        self.exit(2, f"nni_core.manager: {message}\n")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = _ArgumentParser(prog="python -m nni_core.manager", description="Run one experiment's manager.")
    parser.add_argument("--port", type=int, required=True, help="REST port; 0 binds a free one")
    parser.add_argument("--experiment-id", required=True)
    parser.add_argument("--action", choices=("create", "resume", "view"), required=True)
    parser.add_argument("--experiments-directory", required=True,
                        help="parent folder of the experiment folder")
    parser.add_argument("--log-level", choices=tuple(LOG_LEVELS), default="info")
    parser.add_argument("--url-prefix", default="")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--token", default=None, help="access token, required for a non-loopback host")
    parser.add_argument("--foreground", action="store_true", help="also log to stderr")
    parser.add_argument(WAIT_FOR_ARGUMENTS, action="store_true",
                        help="import first, then read the remaining arguments from stdin (see the module's doc)")
    return parser.parse_args(argv)


def _import_everything() -> None:
    import uvicorn  # noqa: F401

    from nni_core.manager import engine, rest  # noqa: F401

    with contextlib.suppress(ImportError):  # the HTTP parser uvicorn will choose (httptools or h11)
        import uvicorn.protocols.http.auto  # noqa: F401
    engine.warm_up()


def _wait_for_arguments() -> list[str] | None:
    """``--wait-for-arguments``: the imports, then the rest of the arguments from stdin (None
    at end of input); stdout and stderr move to the files the message names."""
    try:
        _import_everything()
    except Exception:  # noqa: BLE001 - it fails again below, reported in the output files
        pass
    line = sys.stdin.readline()
    if not line.strip():
        return None
    message = json.loads(line)
    for fd, key in ((1, "stdout"), (2, "stderr")):
        if message.get(key):
            target = os.open(message[key], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            os.dup2(target, fd)
            os.close(target)
    devnull = os.open(os.devnull, os.O_RDONLY)  # as a manager started with its arguments has
    os.dup2(devnull, 0)
    os.close(devnull)
    return [str(argument) for argument in message["arguments"]]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _setup_logging(log_dir: str, level: str, foreground: bool) -> None:
    os.makedirs(log_dir, exist_ok=True)
    formatter = logging.Formatter("[%(asctime)s] %(levelname)s (%(name)s) %(message)s", "%Y-%m-%d %H:%M:%S")
    root = logging.getLogger()
    root.setLevel(LOG_LEVELS[level])
    handler = logging.FileHandler(os.path.join(log_dir, "nnimanager.log"), encoding="utf-8")
    handler.setFormatter(formatter)
    root.addHandler(handler)
    if foreground:
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(formatter)
        root.addHandler(stream)


def listening_socket(host: str, port: int) -> socket.socket:
    """The REST socket, bound and listening (``port`` 0: a free one)."""
    # IPPROTO_TCP given explicitly: asyncio sets TCP_NODELAY on accepted connections only when the
    # listening socket says it is TCP; without it every keep-alive request after the first waits
    # ~40 ms (Nagle's algorithm against the client's delayed ACK)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if WAIT_FOR_ARGUMENTS in argv:
        argv.remove(WAIT_FOR_ARGUMENTS)
        try:
            rest = _wait_for_arguments()
        except (ValueError, KeyError, TypeError, OSError) as failure:
            print(f"nni_core.manager: unreadable arguments on stdin: {failure}", file=sys.stderr)
            return 2
        if rest is None:
            return 0
        argv += rest
    args = parse_args(argv)
    prefix = args.url_prefix
    if prefix.startswith("/") or prefix.endswith("/"):
        print(f"nni_core.manager: --url-prefix {prefix!r} must not start or end with '/'", file=sys.stderr)
        return 2
    if not _ID.match(args.experiment_id):
        print(f"nni_core.manager: --experiment-id {args.experiment_id!r} must be 1-32 of A-Z a-z 0-9 _ -",
              file=sys.stderr)
        return 2
    if not _is_loopback(args.host) and not args.token:
        print(f"nni_core.manager: --host {args.host} is reachable from other machines; "
              "give --token TOKEN to protect the API", file=sys.stderr)
        return 2
    experiment_dir = os.path.join(os.path.abspath(os.path.expanduser(args.experiments_directory)), args.experiment_id)
    if args.action != "create" and not os.path.isdir(experiment_dir):
        print(f"nni_core.manager: no experiment folder {experiment_dir}; check --experiment-id and "
              "--experiments-directory", file=sys.stderr)
        return 1
    _setup_logging(os.path.join(experiment_dir, "log"), args.log_level, args.foreground)
    logger = logging.getLogger("main")
    logger.info("Start NNI manager: experiment %s, action %s", args.experiment_id, args.action)

    from nni_core.manager.engine import Engine

    engine = Engine(args.experiment_id, experiment_dir, args.action)
    try:
        engine.open()
    except (OSError, ValueError) as failure:
        logger.error("%s", failure)
        print(f"nni_core.manager: {failure}", file=sys.stderr)
        return 1
    try:
        sock = listening_socket(args.host, args.port)
    except OSError as failure:
        logger.error("cannot listen on %s:%s: %s", args.host, args.port, failure)
        print(f"nni_core.manager: cannot listen on {args.host}:{args.port}: {failure.strerror or failure}",
              file=sys.stderr)
        return 1
    try:
        asyncio.run(_serve(args, engine, sock, experiment_dir))
    except Exception:  # noqa: BLE001 - logged with its traceback, reported as one line
        logger.exception("manager crashed")
        print(f"nni_core.manager: crashed, see {os.path.join(experiment_dir, 'log', 'nnimanager.log')}",
              file=sys.stderr)
        return 1
    logger.info("manager exited")
    return 0


async def _serve(args: argparse.Namespace, engine, sock: socket.socket, experiment_dir: str) -> None:
    import uvicorn

    from nni_core.manager.rest import build_app

    port = sock.getsockname()[1]
    prefix = args.url_prefix
    path = f"/{prefix}" if prefix else ""
    host_in_url = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{host_in_url}:{port}{path}"
    # trials on this machine reach a wildcard bind through loopback
    channel_host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else host_in_url
    engine.channel_url = f"http://{channel_host}:{port}{path}"
    engine.channel_query = f"?token={args.token}" if args.token else ""
    engine.manager_info = {"port": port, "url": url, "urlPrefix": prefix}

    loop = asyncio.get_running_loop()
    stopping: list[asyncio.Task] = []

    async def stop() -> None:
        await engine.shutdown()
        server.should_exit = True

    def request_stop() -> None:
        if not stopping:
            stopping.append(loop.create_task(stop()))

    engine.prepare()
    app = build_app(engine, prefix, args.token, request_stop)
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off",
                            timeout_graceful_shutdown=1, timeout_keep_alive=5, ws="none")
    server = _quiet_server(config)
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, request_stop)
    from nni_core.training_service import write_json_atomic

    write_json_atomic(os.path.join(experiment_dir, "manager.json"), {
        "pid": os.getpid(), "port": port, "host": args.host, "url": url, "urlPrefix": prefix,
        "action": args.action, "startTime": int(time.time() * 1000)})
    logging.getLogger("RestServer").info("REST server listening at %s", url)
    gc.freeze()  # what start-up made lives on: keep later collections from walking it
    gc.enable()
    await server.serve(sockets=[sock])
    request_stop()  # uvicorn ended on its own: still save the experiment
    await stopping[0]


def _quiet_server(config):
    """uvicorn's server without its own signal handling (the manager stops itself first)."""
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return Server(config)
