"""Command line: qa index build|info, qa add, qa remove, qa ask, qa serve, qa eval (one module per command)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from qa.cli import ask, evaluate, index, library, serve
from qa.cli.options import common
from qa.errors import QAError


def parser() -> argparse.ArgumentParser:
    """The argument parser of the `qa` command."""
    ap = argparse.ArgumentParser(prog="qa", description="Cited question answering over news articles.")
    commands = ap.add_subparsers(dest="command", required=True)
    shared = common()
    for command in (index, library, ask, serve, evaluate):
        command.register(commands, shared)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `qa` console script."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("faiss", "sentence_transformers", "httpx", "jieba"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    args = parser().parse_args(argv)
    try:
        if argv is None and args.func is serve.serve:
            serve.start_again_to_serve(args)
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except QAError as exc:  # a clear one-line message, not a traceback, for expected failures
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:  # a setting (QA_*) or an option that is not one of its values
        wrong = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors())
        print(f"error: invalid setting: {wrong}", file=sys.stderr)
        return 2
