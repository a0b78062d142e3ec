"""Questions of external data asked in another language as a reader writes it: a file of translations by question id
(JSON lines `{"id": ..., "question": ...}`, e.g. eval/translated/*.en.jsonl, DRCD and CMRC 2018 questions put into
fluent English), read and applied to a sample. Unlike the word-by-word glosses (qa/evaluation/glossing.py), whose words
are CC-CEDICT's own senses and so always found in the lexicon, a translation uses the words an English reader would."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from qa.errors import GoldError
from qa.evaluation.squad import Sample, SquadQuestion


def read_translations(path: Path) -> dict[str, str]:
    """The questions of a translations file by id; GoldError names the line of one that cannot be read."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise GoldError(f"cannot read the translations {path}: {exc}") from None
    table: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            key, question = row["id"], row["question"]
        except (ValueError, TypeError, KeyError):
            raise GoldError(f"{path}:{number}: not a JSON object with an id and a question") from None
        if not isinstance(key, str) or not isinstance(question, str) or not question.strip():
            raise GoldError(f"{path}:{number}: the id and the question must be strings, the question not empty")
        table[key] = question.strip()
    return table


def in_translation(chosen: Sample, table: dict[str, str]) -> Sample:
    """The sample with its questions (and the foreign ones) replaced by their translations; a question the table
    does not translate is left out."""
    return replace(chosen, questions=translated(chosen.questions, table), foreign=translated(chosen.foreign, table))


def translated(questions: tuple[SquadQuestion, ...], table: dict[str, str]) -> tuple[SquadQuestion, ...]:
    """The questions the table translates, each asked in its translation."""
    return tuple(replace(q, text=table[q.id]) for q in questions if q.id in table)
