"""`qa ask`: one question answered on the local pipeline, printed with numbered citations (or as /ask's JSON)."""

from __future__ import annotations

import argparse
import sys

from qa.cli.options import settings_of, utf8


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Add `qa ask` to the command line."""
    ask_command = commands.add_parser("ask", parents=[common], help="answer a question")
    ask_command.add_argument("question", type=utf8)
    ask_command.add_argument("--top-k", type=int, default=None, help="passages to return (default: QA_DEFAULT_TOP_K)")
    ask_command.add_argument("--json", action="store_true", help="print the /ask JSON")
    ask_command.set_defaults(func=ask)


def ask(args: argparse.Namespace) -> int:
    """Answer one question on the local pipeline and print it with numbered citations."""
    import asyncio

    from qa.server.deps import clean_question, top_k
    from qa.types import Answer
    from qa.wiring import build_pipeline

    settings = settings_of(args)
    # The question and top_k are checked as /ask checks them (an ApiError is a QAError: main prints it, exit 2).
    question = clean_question(args.question, settings.server.max_question_chars)
    most = settings.retrieval.max_top_k
    if args.top_k is not None and not 1 <= args.top_k <= most:  # named as the command line names it
        print(f"error: --top-k must be between 1 and {most}, got {args.top_k}", file=sys.stderr)
        return 2
    k = top_k(args.top_k, settings)
    pipeline = build_pipeline(settings)

    async def ask() -> Answer:  # through the engine: the LLM when one is configured, as /ask answers
        try:
            return await pipeline.engine.ask(question, top_k=k)
        finally:
            await pipeline.engine.aclose()

    answer = asyncio.run(ask())
    if args.json:
        from qa.server.schemas import AskResponse

        print(AskResponse.of(answer).model_dump_json(indent=2))
        return 0
    print(answer.answer)
    for c in answer.citations:
        print(f"  [{c.n}] {c.doc} {c.start}-{c.end}: {c.quote}")
    if answer.abstained and answer.reason:
        print(f"  ({answer.reason})")
    if answer.llm_fallback:  # said where the reader sees it, not only in --json's `reason`
        print(f"note: the LLM's answer was not used ({answer.llm_fallback}): this one is extractive", file=sys.stderr)
    return 0
