"""`qa serve`: the HTTP service under uvicorn, in one process or several, in the memory setting it serves best in."""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator

from qa.cli.options import overrides, settings_of, whole


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Add `qa serve` to the command line."""
    serve_command = commands.add_parser("serve", parents=[common], help="run the HTTP service")
    serve_command.add_argument("--host", default="127.0.0.1")
    serve_command.add_argument("--port", type=whole(0, 65535), default=8000)
    serve_command.add_argument(
        "--log-level", type=str.upper, choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="(QA_LOG_LEVEL)"
    )
    serve_command.add_argument("--workers", type=whole(1), default=1, help="worker processes (each loads the index)")
    serve_command.set_defaults(func=serve)


def _milvus_lite(uri: str) -> bool:
    from qa.retrieval.milvus import SERVER_SCHEMES

    return not uri.startswith(SERVER_SCHEMES)


@contextlib.contextmanager
def _shared_metrics() -> Iterator[None]:
    """A fresh folder for the workers' metrics (qa.server.metrics), unless the operator named one; removed after."""
    from qa.server.metrics import SHARED_DIR_ENV

    if os.environ.get(SHARED_DIR_ENV):
        yield
        return
    folder = tempfile.mkdtemp(prefix="qa-metrics-")
    os.environ[SHARED_DIR_ENV] = folder  # the workers, spawned after this, inherit it
    try:
        yield
    finally:
        del os.environ[SHARED_DIR_ENV]
        shutil.rmtree(folder, ignore_errors=True)


def serve(args: argparse.Namespace) -> int:
    """Run the HTTP service with uvicorn: JSON logs, --workers N processes, bounded slow clients."""
    import uvicorn

    from qa.server.logs import configure_logging
    from qa.server.protocol import server_config
    from qa.wiring import preflight

    settings = settings_of(args)
    configure_logging(settings)
    preflight(settings)  # a setting no retry fixes stops the start (exit 2), not 503s forever
    if settings.on_index_mismatch == "refuse":
        # Refuse now, with a non-zero exit, rather than serve 503s for an index that will never load.
        from qa.indexing.freshness import check
        from qa.wiring import make_embedder, sources_of

        check(settings.index_dir, sources_of(settings), make_embedder(settings).model_id)
    store = settings.retrieval
    if args.workers > 1 and store.store == "milvus" and _milvus_lite(store.milvus_uri):
        # Milvus Lite is an engine inside one process: a second worker cannot open its file.
        print(
            f"error: Milvus Lite ({store.milvus_uri}) serves one process: run --workers 1, or use a Milvus server",
            file=sys.stderr,
        )
        return 2
    if args.workers > 1:
        from uvicorn.config import STARTUP_FAILURE
        from uvicorn.supervisors import Multiprocess

        from qa.wiring import app_factory

        # Each worker process builds its app from the command line's overrides (a picklable partial) and loads
        # the index before it takes requests; the environment is not written to.
        factory = functools.partial(app_factory, **overrides(args))
        config = server_config(factory, settings, host=args.host, port=args.port, factory=True, workers=args.workers)
        supervisor = Multiprocess(config, sockets=[config.bind_socket()])
        with _shared_metrics():
            supervisor.run()
        # A worker that could not start (an index it was told to refuse) stops them all: say so in the exit code.
        failed = [p for p in supervisor.processes if p.exitcode == STARTUP_FAILURE]
        return STARTUP_FAILURE if failed else 0
    from qa.wiring import build_app

    server = uvicorn.Server(server_config(build_app(settings), settings, host=args.host, port=args.port))
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: uvicorn has shut down gracefully, as uvicorn.run would
        server.run()
    return 0 if server.started else 1


def start_again_to_serve(args: argparse.Namespace) -> None:
    """Replace this process with the same command in the environment a server holds its memory in (PYTHONMALLOC
    is read when the interpreter starts: qa.server.memory), when the settings say to hold it (or, by default, when
    holding pays on this machine for this index), unless it has that environment already."""
    from qa.server.logs import configure_logging
    from qa.server.memory import serving_env, wants_holding

    settings = settings_of(args)
    configure_logging(settings)  # what deciding logs is in the service's log format too (it was plain text)
    if wants_holding(settings.server.hold_memory, settings.index_dir) and (env := serving_env(os.environ)) is not None:
        env["QA_HOLD_MEMORY"] = "true"  # decided: the new process does not time the machine again
        os.execve(sys.executable, [sys.executable, "-m", "qa.cli", *sys.argv[1:]], env)
