"""`qa eval`: a gold question set scored on the local pipeline or a running service, or external reading-comprehension
data (SQuAD format) served as a corpus of its own and scored."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from qa.cli.options import folder, settings_of, whole


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Add `qa eval` to the command line."""
    ev = commands.add_parser("eval", parents=[common], help="score a gold question set, or external SQuAD-format data")
    ev.add_argument("gold", nargs="?", help="gold questions (JSON lines)")
    ev.add_argument("--url", help="score a running service instead of the local pipeline")
    ev.add_argument("--source", help="the file the gold offsets refer to (default: found in the seeds)")
    ev.add_argument("--json", help="write the per-question report here")
    ev.add_argument("--squad", help="a SQuAD-format file (DRCD, CMRC 2018): its articles become the corpus")
    ev.add_argument("--split", choices=["test", "train", "all"], default="test", help="part of the split to use")
    ev.add_argument("--split-file", default="eval/external_split.json", help="article ids per corpus and split")
    ev.add_argument("--articles", type=whole(1), default=40, help="articles in the corpus")
    ev.add_argument("--questions", type=whole(1), default=300, help="questions asked about them")
    ev.add_argument("--foreign", type=whole(0), default=200, help="questions about articles left out (to abstain on)")
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
    ev.add_argument(
        "--translated",
        metavar="FILE",
        help="ask the questions in the translations this file gives them by id (JSON lines {id, question}, e.g. "
        "eval/translated/DRCD_dev.en.jsonl); the questions it does not translate are left out",
    )
    ev.add_argument("--seed", type=int, default=0, help="seed of the choice of articles and questions")
    ev.add_argument(
        "--work-dir",
        type=folder,
        help="where the corpus and its index are kept (default: a folder in /tmp); a new or empty folder, or one an "
        "earlier `qa eval --squad` made",
    )
    ev.set_defaults(func=score)


def score(args: argparse.Namespace) -> int:
    """Score a gold set (or, with --squad, external reading-comprehension data) on the local pipeline, or on a
    running service with --url."""
    if args.json and (Path(args.json).is_dir() or not Path(args.json).resolve().parent.is_dir()):
        # said now, not after the whole run, whose report would be lost
        print(f"error: --json {args.json}: no such folder to write the report in, or a folder", file=sys.stderr)
        return 2
    if args.squad:
        return _squad(args)
    if not args.gold:
        print("error: give a gold file, or --squad FILE", file=sys.stderr)
        return 2
    from qa.evaluation.gold import checked_source, evaluate, local_asker, read_gold, summary_line, url_asker

    gold = read_gold(Path(args.gold))  # a file that cannot be scored says so before the pipeline loads
    settings = settings_of(args)
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


def _squad(args: argparse.Namespace) -> int:
    """Build a corpus from a SQuAD-format file's split, serve it, and score passages, citations and abstention."""
    from qa.evaluation.external import ExternalRun, run_external, summary_line

    if args.translated and (args.english or args.reworded or args.other_script):
        print(
            "error: --translated asks the questions as translated: not with --english, --reworded or --other-script",
            file=sys.stderr,
        )
        return 2
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
        translations=Path(args.translated) if args.translated else None,
        work_dir=args.work_dir,
    )
    report = run_external(run, settings_of(args), url=args.url)
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
