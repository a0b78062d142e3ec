"""`qa index build` and `qa index info`: make the index from the sources, and say whether it fits them."""

from __future__ import annotations

import argparse
import json
import sys
import time

from qa.cli.options import settings_of


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Add `qa index build|info` to the command line."""
    index = commands.add_parser("index", help="build or inspect the index")
    index_sub = index.add_subparsers(dest="index_command", required=True)
    index_sub.add_parser("build", parents=[common], help="build the index").set_defaults(func=build)
    index_sub.add_parser("info", parents=[common], help="show the manifest").set_defaults(func=info)


def build(args: argparse.Namespace) -> int:
    """Build the index from the seeds and swap it in atomically."""
    from qa.indexing.build import build_into
    from qa.text.tokens import initialise
    from qa.wiring import make_embedder, sources_of

    settings = settings_of(args)
    initialise()
    started = time.perf_counter()
    manifest = build_into(settings.index_dir, sources_of(settings), make_embedder(settings), progress=True)
    counts = manifest["counts"]
    print(
        f"built {settings.index_dir}: {counts['chunks']} chunks, {counts['sentences']} sentences "
        f"from {counts['documents']} documents in {time.perf_counter() - started:.1f}s"
    )
    for left_out in manifest.get("skipped", []):
        print(f"not indexed: {left_out['file']}: {left_out['reason']}", file=sys.stderr)
    return 0


def info(args: argparse.Namespace) -> int:
    """Print the manifest and whether the index fits the seeds and the model: exit 0 only when it does (up to date),
    1 when it is missing, damaged or stale (`qa index info || qa index build`)."""
    from qa.errors import IndexUnusable
    from qa.indexing.chunking import ChunkerSettings
    from qa.indexing.freshness import staleness
    from qa.indexing.store import read_manifest, verify_files
    from qa.wiring import make_embedder, sources_of

    settings = settings_of(args)
    try:
        manifest = read_manifest(settings.index_dir)
    except IndexUnusable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        verify_files(settings.index_dir)  # every segment file against its checksum, as `qa serve` checks it
    except IndexUnusable as exc:
        print(json.dumps({k: v for k, v in manifest.items() if k != "files"}, ensure_ascii=False, indent=2))
        print(f"status: damaged ({exc})")
        return 1
    sources = sources_of(settings)
    problem = staleness(manifest, sources, make_embedder(settings).model_id, ChunkerSettings())
    shown = {k: v for k, v in manifest.items() if k != "files"}
    print(json.dumps(shown, ensure_ascii=False, indent=2))
    print("status: " + (f"stale ({problem})" if problem else "up to date"))
    if sources.unsettled():  # a killed write's files: the next start or write settles them, nothing is rebuilt
        print("library: a write was cut short; the next `qa serve` start or write settles it (no rebuild)")
    return 1 if problem else 0
