"""Command line: qa index build|info, qa ask, qa add, qa remove, qa serve, qa eval."""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from qa.config import Settings, settings_with
from qa.errors import QAError


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The settings the command line gives (the rest come from the environment)."""
    names = ("seeds_dir", "index_dir", "library_dir", "embedding_model", "log_level")
    found = {name: getattr(args, name, None) for name in names}
    return {name: value for name, value in found.items() if value is not None}


def _settings(args: argparse.Namespace) -> Settings:
    return settings_with(**_overrides(args))


def _folder(text: str) -> Path:
    """A folder named on the command line (`""` would be the current folder: a build there replaces it)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path names no folder")
    return Path(text)


def _utf8(text: str) -> str:
    """An argument as text. Bytes that are not UTF-8 reach Python as lone surrogates (U+DC80-U+DCFF, its
    `surrogateescape`), which the API's check would call UTF-16 surrogates: say which byte it was instead."""
    at = next((i for i, ch in enumerate(text) if "\udc80" <= ch <= "\udcff"), None)
    if at is not None:
        raise argparse.ArgumentTypeError(f"not UTF-8 text: byte 0x{ord(text[at]) - 0xDC00:02x} at character {at}")
    return text


def _document_id(text: str) -> str:
    """A document id named on the command line (an id that is none was a new, made id: `--replace` replaced nothing)."""
    from qa.indexing.sources import DOCUMENT_ID_RE

    if not DOCUMENT_ID_RE.fullmatch(_utf8(text)):
        raise argparse.ArgumentTypeError(f"{text!r} is no document id (letters, digits, . _ -)")
    return text


def _whole(low: int, high: int | None = None) -> Callable[[str], int]:
    """An option's whole number from `low` (and up to `high`): `--workers 0` ran one process, silently; `--port 73786`
    was served on 73786 - 65536 while the log said 73786; `--foreign -1` failed deep in random.sample."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if high is not None and not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be {low}-{high}, got {value}")
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value

    return parse


def cmd_index_build(args: argparse.Namespace) -> int:
    """Build the index from the seeds and swap it in atomically."""
    from qa.indexing.build import build_into
    from qa.text.tokens import initialise
    from qa.wiring import make_embedder, sources_of

    settings = _settings(args)
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


def cmd_index_info(args: argparse.Namespace) -> int:
    """Print the manifest and whether the index fits the seeds and the model: exit 0 only when it does (up to date),
    1 when it is missing, damaged or stale (`qa index info || qa index build`)."""
    from qa.errors import IndexUnusable
    from qa.indexing.chunking import ChunkerSettings
    from qa.indexing.freshness import staleness
    from qa.indexing.store import read_manifest, verify_files
    from qa.wiring import make_embedder, sources_of

    settings = _settings(args)
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


def _read_text(path: Path, most: int) -> str:
    """A UTF-8 file of at most `most` characters, read no further than that allows (`/dev/zero` was read until
    memory ran out before its length was checked)."""
    with path.open("rb") as f:
        data = f.read(4 * most + 1)  # a character is at most 4 bytes
    if len(data) > 4 * most:
        raise ValueError(f"longer than the limit of {most} characters (QA_MAX_DOCUMENT_CHARS)")
    text = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")  # as read_text reads it
    if len(text) > most:
        raise ValueError(f"longer than the limit of {most} characters (QA_MAX_DOCUMENT_CHARS)")
    return text


def cmd_add(args: argparse.Namespace) -> int:
    """Add documents to the index (each one new segment; nothing else is rebuilt); a running server picks them
    up on its next reload (`qa serve` watches the index's generation)."""
    from qa.indexing.freshness import open_index
    from qa.indexing.library import add_document
    from qa.indexing.sources import DOCUMENT_ID_RE
    from qa.text.tokens import initialise
    from qa.types import NewDocument
    from qa.wiring import make_embedder, sources_of

    settings = _settings(args)
    initialise()
    embedder = make_embedder(settings)
    sources = sources_of(settings)
    index = open_index(settings.index_dir, sources, embedder, on_mismatch=settings.on_index_mismatch)
    if args.id is not None and len(args.files) != 1:
        print("error: --id names one document: give one file with it", file=sys.stderr)
        return 2
    failed = 0
    most = settings.server.max_document_chars
    for path in args.files:
        try:
            text = _read_text(Path(path), most)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            print(f"error: {path}: {exc}", file=sys.stderr)
            failed += 1
            continue
        stem = args.id or Path(path).stem
        if not DOCUMENT_ID_RE.fullmatch(stem):
            if args.replace:  # a made id is new each time: nothing would be replaced
                print(f"error: {path}: its name is no document id (letters, digits, . _ -): give --id", file=sys.stderr)
                failed += 1
                continue
            note = f"note: {path}: its name is no document id (letters, digits, . _ -), so a new id is made"
            print(note, file=sys.stderr)
        doc = NewDocument(
            text=text,
            id=stem if DOCUMENT_ID_RE.fullmatch(stem) else None,
            title=args.title,
            date=args.date,
        )
        try:
            added = add_document(
                index,
                settings.index_dir,
                sources,
                doc,
                embedder,
                replace=args.replace,
                max_chars=settings.server.max_document_chars,
                max_segments=settings.retrieval.max_segments,
            )
        except QAError as exc:  # this file is not added, and says why; the others are tried
            print(f"error: {path}: {exc}", file=sys.stderr)
            failed += 1
            continue
        index = added.index
        print(f"added {added.document.id}: {added.chunks} chunks")
    if failed:
        print(f"error: {failed} of {len(args.files)} files not added", file=sys.stderr)
    return 2 if failed else 0


def cmd_remove(args: argparse.Namespace) -> int:
    """Remove documents added earlier from the index and the library."""
    from qa.indexing.freshness import open_index
    from qa.indexing.library import remove_document
    from qa.wiring import make_embedder, sources_of

    settings = _settings(args)
    sources = sources_of(settings)
    index = open_index(settings.index_dir, sources, make_embedder(settings), on_mismatch=settings.on_index_mismatch)
    failed = 0
    for doc_id in args.ids:  # each one on its own: an unknown id does not keep the others
        try:
            index = remove_document(index, settings.index_dir, sources, doc_id)
        except QAError as exc:
            print(f"error: {doc_id}: {exc}", file=sys.stderr)
            failed += 1
            continue
        print(f"removed {doc_id}")
    return 2 if failed else 0


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer one question on the local pipeline and print it with numbered citations."""
    import asyncio

    from qa.server.deps import clean_question, top_k
    from qa.types import Answer
    from qa.wiring import build_pipeline

    settings = _settings(args)
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


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the HTTP service with uvicorn: JSON logs, --workers N processes, bounded slow clients."""
    import uvicorn

    from qa.server.logs import configure_logging
    from qa.server.protocol import server_config
    from qa.wiring import preflight

    settings = _settings(args)
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
        factory = functools.partial(app_factory, **_overrides(args))
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


def cmd_eval(args: argparse.Namespace) -> int:
    """Score a gold set (or, with --squad, external reading-comprehension data) on the local pipeline, or on a
    running service with --url."""
    if args.json and (Path(args.json).is_dir() or not Path(args.json).resolve().parent.is_dir()):
        # said now, not after the whole run, whose report would be lost
        print(f"error: --json {args.json}: no such folder to write the report in, or a folder", file=sys.stderr)
        return 2
    if args.squad:
        return _eval_squad(args)
    if not args.gold:
        print("error: give a gold file, or --squad FILE", file=sys.stderr)
        return 2
    from qa.evaluation.gold import checked_source, evaluate, local_asker, read_gold, summary_line, url_asker

    gold = read_gold(Path(args.gold))  # a file that cannot be scored says so before the pipeline loads
    settings = _settings(args)
    source = Path(args.source) if args.source else None
    if source is not None:
        checked_source(source, gold)  # ... as does a source that lacks the gold evidence
    if args.url:
        asker = url_asker(args.url)
    else:
        from qa.wiring import build_pipeline

        asker = local_asker(build_pipeline(settings))
    report = evaluate(gold, asker, source=source, seeds_dir=settings.seeds_dir)
    print(json.dumps(report["summary"], ensure_ascii=False, indent=2))
    print(summary_line(report["summary"]))
    for failed in report["errors"][:3]:  # why, when questions failed (a service that is not there, ...)
        print(f"error: {failed}", file=sys.stderr)
    if args.json:
        Path(args.json).write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    return 1 if report["summary"]["errors"] else 0


def _eval_squad(args: argparse.Namespace) -> int:
    """Build a corpus from a SQuAD-format file's split, serve it, and score passages, citations and abstention."""
    from qa.evaluation.external import ExternalRun, run_external, summary_line

    run = ExternalRun(
        data=Path(args.squad),
        split_file=Path(args.split_file),
        part=args.split,
        articles=args.articles,
        questions=args.questions,
        foreign=args.foreign,
        seed=args.seed,
        near=args.near,
        reworded=args.reworded,
        english=args.english,
        other_script=args.other_script,
        work_dir=args.work_dir,
    )
    report = run_external(run, _settings(args), url=args.url)
    print(json.dumps(report["summary"], ensure_ascii=False, indent=2))
    corpus = report["corpus"]
    print(
        f"corpus: qa serve --seeds-dir {corpus['seeds_dir']} --index-dir {corpus['index_dir']} "
        f"--library-dir {corpus['library_dir']}"
    )
    print(summary_line(report["summary"]))
    if args.json:
        Path(args.json).write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    return 1 if report["summary"]["errors"] else 0


def _eval_parser(ev: argparse.ArgumentParser) -> None:
    """The options of `qa eval`."""
    ev.add_argument("gold", nargs="?", help="gold questions (JSON lines)")
    ev.add_argument("--url", help="score a running service instead of the local pipeline")
    ev.add_argument("--source", help="the file the gold offsets refer to (default: found in the seeds)")
    ev.add_argument("--json", help="write the per-question report here")
    ev.add_argument("--squad", help="a SQuAD-format file (DRCD, CMRC 2018): its articles become the corpus")
    ev.add_argument("--split", choices=["test", "train", "all"], default="test", help="part of the split to use")
    ev.add_argument("--split-file", default="eval/external_split.json", help="article ids per corpus and split")
    ev.add_argument("--articles", type=_whole(1), default=40, help="articles in the corpus")
    ev.add_argument("--questions", type=_whole(1), default=300, help="questions asked about them")
    ev.add_argument("--foreign", type=_whole(0), default=200, help="questions about articles left out (to abstain on)")
    ev.add_argument(
        "--no-near",
        dest="near",
        action="store_false",
        help="skip the near misses: one question per article asked with its answer cut out (to abstain on)",
    )
    ev.add_argument(
        "--reworded",
        action="store_true",
        help="ask the questions in other words: one word (not a name) the corpus holds replaced by one it never uses",
    )
    ev.add_argument(
        "--english",
        action="store_true",
        help="ask the questions glossed into English word by word (CC-CEDICT senses, names in pinyin)",
    )
    ev.add_argument(
        "--other-script",
        action="store_true",
        help="ask the questions in the other script, character by character (Simplified for DRCD, Traditional for "
        "CMRC 2018)",
    )
    ev.add_argument("--seed", type=int, default=0, help="seed of the choice of articles and questions")
    ev.add_argument(
        "--work-dir",
        type=_folder,
        help="where the corpus and its index are kept (default: a folder in /tmp); a new or empty folder, or one an "
        "earlier `qa eval --squad` made",
    )
    ev.set_defaults(func=cmd_eval)


def parser() -> argparse.ArgumentParser:
    """The argument parser of the `qa` command."""
    ap = argparse.ArgumentParser(prog="qa", description="Cited question answering over news articles.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--seeds-dir", dest="seeds_dir", type=_folder, help="source folder (QA_SEEDS_DIR)")
    common.add_argument("--index-dir", dest="index_dir", type=_folder, help="index folder (QA_INDEX_DIR)")
    common.add_argument("--library-dir", dest="library_dir", type=_folder, help="added documents (QA_LIBRARY_DIR)")
    common.add_argument("--embedding-model", dest="embedding_model", help="model name or path (QA_EMBEDDING_MODEL)")
    sub = ap.add_subparsers(dest="command", required=True)

    index = sub.add_parser("index", help="build or inspect the index")
    index_sub = index.add_subparsers(dest="index_command", required=True)
    index_sub.add_parser("build", parents=[common], help="build the index").set_defaults(func=cmd_index_build)
    index_sub.add_parser("info", parents=[common], help="show the manifest").set_defaults(func=cmd_index_info)

    add = sub.add_parser("add", parents=[common], help="add documents to the index (kept in the library folder)")
    add.add_argument("files", nargs="+", type=Path, help="UTF-8 text files; the file name (less .txt) is the id")
    add.add_argument("--title", type=_utf8, help="title (for every file given)")
    add.add_argument("--date", type=_utf8, help="publication date, YYYY-MM-DD")
    add.add_argument("--replace", action="store_true", help="overwrite documents with the same id")
    add.add_argument(
        "--id", type=_document_id, help="the document's id, for one file (default: the file name less .txt)"
    )
    add.set_defaults(func=cmd_add)

    remove = sub.add_parser("remove", parents=[common], help="remove documents added earlier")
    remove.add_argument("ids", nargs="+", type=_utf8, help="document ids")
    remove.set_defaults(func=cmd_remove)

    ask = sub.add_parser("ask", parents=[common], help="answer a question")
    ask.add_argument("question", type=_utf8)
    ask.add_argument("--top-k", type=int, default=None, help="passages to return (default: QA_DEFAULT_TOP_K)")
    ask.add_argument("--json", action="store_true", help="print the /ask JSON")
    ask.set_defaults(func=cmd_ask)

    serve = sub.add_parser("serve", parents=[common], help="run the HTTP service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_whole(0, 65535), default=8000)
    serve.add_argument(
        "--log-level", type=str.upper, choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="(QA_LOG_LEVEL)"
    )
    serve.add_argument("--workers", type=_whole(1), default=1, help="worker processes (each loads the index)")
    serve.set_defaults(func=cmd_serve)

    _eval_parser(
        sub.add_parser("eval", parents=[common], help="score a gold question set, or external SQuAD-format data")
    )
    return ap


def _start_again_to_serve(args: argparse.Namespace) -> None:
    """Replace this process with the same command in the environment a server holds its memory in (PYTHONMALLOC
    is read when the interpreter starts: qa.server.memory), when the settings say to hold it (or, by default, when
    holding pays on this machine for this index), unless it has that environment already."""
    from qa.server.logs import configure_logging
    from qa.server.memory import serving_env, wants_holding

    settings = _settings(args)
    configure_logging(settings)  # what deciding logs is in the service's log format too (it was plain text)
    if wants_holding(settings.server.hold_memory, settings.index_dir) and (env := serving_env(os.environ)) is not None:
        env["QA_HOLD_MEMORY"] = "true"  # decided: the new process does not time the machine again
        os.execve(sys.executable, [sys.executable, "-m", "qa.cli", *sys.argv[1:]], env)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `qa` console script."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("faiss", "sentence_transformers", "httpx", "jieba"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    args = parser().parse_args(argv)
    try:
        if argv is None and args.func is cmd_serve:
            _start_again_to_serve(args)
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


if __name__ == "__main__":
    sys.exit(main())
