"""Command line: qa index build|info, qa ask, qa serve, qa eval."""

from __future__ import annotations

import argparse
import functools
import json
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from qa.config import Settings, settings_with
from qa.errors import QAError


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The settings the command line gives (the rest come from the environment)."""
    names = ("seeds_dir", "index_dir", "embedding_model", "log_level")
    found = {name: getattr(args, name, None) for name in names}
    return {name: value for name, value in found.items() if value is not None}


def _settings(args: argparse.Namespace) -> Settings:
    return settings_with(**_overrides(args))


def cmd_index_build(args: argparse.Namespace) -> int:
    """Build the index from the seeds and swap it in atomically."""
    from qa.app import make_embedder
    from qa.indexing.build import build
    from qa.indexing.store import save
    from qa.text.tokens import initialise

    settings = _settings(args)
    initialise()
    started = time.perf_counter()
    index = build(settings.seeds_dir, make_embedder(settings), progress=True)
    save(index, settings.index_dir)
    counts = index.manifest["counts"]
    print(
        f"built {settings.index_dir}: {counts['chunks']} chunks, {counts['sentences']} sentences "
        f"from {counts['documents']} documents in {time.perf_counter() - started:.1f}s"
    )
    return 0


def cmd_index_info(args: argparse.Namespace) -> int:
    """Print the manifest and whether the index fits the seeds and the model."""
    from qa.app import make_embedder
    from qa.errors import IndexUnusable
    from qa.indexing.chunking import ChunkerSettings
    from qa.indexing.freshness import staleness
    from qa.indexing.store import read_manifest

    settings = _settings(args)
    try:
        manifest = read_manifest(settings.index_dir)
    except IndexUnusable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    problem = staleness(manifest, settings.seeds_dir, make_embedder(settings).model_id, ChunkerSettings())
    shown = {k: v for k, v in manifest.items() if k != "files"}
    print(json.dumps(shown, ensure_ascii=False, indent=2))
    print("status: " + (f"stale ({problem})" if problem else "up to date"))
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer one question on the local pipeline and print it with numbered citations."""
    from qa.app import build_pipeline

    pipeline = build_pipeline(_settings(args))
    answer = pipeline.answerer.answer(args.question, top_k=args.top_k)
    if args.json:
        from qa.server.schemas import AskResponse

        print(AskResponse.of(answer).model_dump_json(indent=2))
        return 0
    print(answer.answer)
    for c in answer.citations:
        print(f"  [{c.n}] {c.doc} {c.start}-{c.end}: {c.quote}")
    if answer.abstained and answer.reason:
        print(f"  ({answer.reason})")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the HTTP service with uvicorn: JSON logs, --workers N processes."""
    import uvicorn

    from qa.server.logs import configure_logging

    settings = _settings(args)
    configure_logging(settings)
    if settings.on_index_mismatch == "refuse":
        # Refuse now, with a non-zero exit, rather than serve 503s for an index that will never load.
        from qa.app import make_embedder
        from qa.indexing.freshness import check

        check(settings.index_dir, settings.seeds_dir, make_embedder(settings).model_id)
    options: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "log_config": None,
        "access_log": False,
        "timeout_graceful_shutdown": 10,
        # Longer than clients' and load balancers' idle timeouts (httpx: 5 s, AWS ALB: 60 s): otherwise the server
        # may close a connection just as a client reuses it (seen as rare ReadErrors in bench/load.py).
        "timeout_keep_alive": 75,
    }
    if args.workers > 1:
        from uvicorn.supervisors import Multiprocess

        from qa.app import app_factory

        # Each worker process builds its app from the command line's overrides (a picklable partial) and loads
        # the index before it takes requests; the environment is not written to.
        factory = functools.partial(app_factory, **_overrides(args))
        config = uvicorn.Config(factory, factory=True, workers=args.workers, **options)
        Multiprocess(config, sockets=[config.bind_socket()]).run()
    else:
        from qa.app import build_app

        uvicorn.run(build_app(settings), **options)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Score a gold set on the local pipeline, or on a running service with --url."""
    from qa.evaluation.gold import evaluate, local_asker, summary_line, url_asker

    settings = _settings(args)
    source = Path(args.source) if args.source else None
    if args.url:
        asker = url_asker(args.url)
    else:
        from qa.app import build_pipeline

        asker = local_asker(build_pipeline(settings))
    report = evaluate(Path(args.gold), asker, source=source, seeds_dir=settings.seeds_dir)
    print(json.dumps(report["summary"], ensure_ascii=False, indent=2))
    print(summary_line(report["summary"]))
    if args.json:
        Path(args.json).write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    return 1 if report["summary"]["errors"] else 0


def parser() -> argparse.ArgumentParser:
    """The argument parser of the `qa` command."""
    ap = argparse.ArgumentParser(prog="qa", description="Cited question answering over news articles.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--seeds-dir", dest="seeds_dir", type=Path, help="source folder (QA_SEEDS_DIR)")
    common.add_argument("--index-dir", dest="index_dir", type=Path, help="index folder (QA_INDEX_DIR)")
    common.add_argument("--embedding-model", dest="embedding_model", help="model name or path (QA_EMBEDDING_MODEL)")
    sub = ap.add_subparsers(dest="command", required=True)

    index = sub.add_parser("index", help="build or inspect the index")
    index_sub = index.add_subparsers(dest="index_command", required=True)
    index_sub.add_parser("build", parents=[common], help="build the index").set_defaults(func=cmd_index_build)
    index_sub.add_parser("info", parents=[common], help="show the manifest").set_defaults(func=cmd_index_info)

    ask = sub.add_parser("ask", parents=[common], help="answer a question")
    ask.add_argument("question")
    ask.add_argument("--top-k", type=int, default=5)
    ask.add_argument("--json", action="store_true", help="print the /ask JSON")
    ask.set_defaults(func=cmd_ask)

    serve = sub.add_parser("serve", parents=[common], help="run the HTTP service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--log-level", type=str.upper, choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="(QA_LOG_LEVEL)"
    )
    serve.add_argument("--workers", type=int, default=1, help="worker processes (each loads the index)")
    serve.set_defaults(func=cmd_serve)

    ev = sub.add_parser("eval", parents=[common], help="score a gold question set")
    ev.add_argument("gold", help="gold questions (JSON lines)")
    ev.add_argument("--url", help="score a running service instead of the local pipeline")
    ev.add_argument("--source", help="the file the gold offsets refer to (default: found in the seeds)")
    ev.add_argument("--json", help="write the per-question report here")
    ev.set_defaults(func=cmd_eval)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `qa` console script."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("faiss", "sentence_transformers", "httpx", "jieba"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("bm25s").setLevel(logging.ERROR)  # a warning for every question the corpus lacks words of
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except QAError as exc:  # a clear one-line message, not a traceback, for expected failures
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
