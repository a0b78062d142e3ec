"""External reading-comprehension data (SQuAD format: DRCD, CMRC 2018) as documents, gold spans and samples.

An article becomes one document: its title on the first line, then its paragraphs, one per line with a blank line
between. A SQuAD `answer_start` is an offset into its paragraph's `context`; it is mapped into that document text.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.errors import GoldError
from qa.evaluation.files import read_data

_SEPARATOR = "\n\n"


@dataclass(frozen=True)
class SquadQuestion:
    """A question with its gold answer spans, as offsets into its article's document text."""

    id: str
    article: str
    text: str
    spans: tuple[tuple[int, int], ...]
    answers: tuple[str, ...]


@dataclass(frozen=True)
class Article:
    """One article: the document text built from its title and paragraphs, and its questions."""

    id: str
    title: str
    text: str
    questions: tuple[SquadQuestion, ...]

    @property
    def file_name(self) -> str:
        """The seeds file this article is written to (its stem is the document id)."""
        return f"{self.id}.txt"


def _answer_span(context: str, answer: dict[str, Any]) -> tuple[int, int] | None:
    """The answer's (start, end) in context; a start that is off (CMRC has a few) is moved to the nearest match."""
    text, start = str(answer["text"]), int(answer["answer_start"])
    if not text:
        return None
    if context[start : start + len(text)] == text:
        return start, start + len(text)
    found = [i for i in range(len(context)) if context.startswith(text, i)]
    if not found:
        return None
    best = min(found, key=lambda i: abs(i - start))
    return best, best + len(text)


def _article(raw: dict[str, Any], number: int) -> Article:
    article_id = str(raw.get("id") or f"a{number:04d}")
    title = str(raw.get("title") or article_id).strip()
    text = title
    questions: list[SquadQuestion] = []
    for paragraph in raw.get("paragraphs", []):
        context = str(paragraph["context"]).replace("\r", " ").replace("\n", " ")
        offset = len(text) + len(_SEPARATOR)
        text = text + _SEPARATOR + context
        for qa in paragraph.get("qas", []):
            spans = [_answer_span(context, a) for a in qa.get("answers", [])]
            found = sorted({(offset + s, offset + e) for s, e in (x for x in spans if x)})
            if not found or qa.get("is_impossible") or not str(qa.get("question", "")).strip():
                continue  # CMRC 2018 has a question with no text
            questions.append(
                SquadQuestion(
                    id=str(qa["id"]),
                    article=article_id,
                    text=str(qa["question"]).strip(),
                    spans=tuple(found),
                    answers=tuple(dict.fromkeys(text[s:e] for s, e in found)),
                )
            )
    return Article(article_id, title, text + "\n", tuple(questions))


def load_squad(path: Path) -> list[Article]:
    """Every article of a SQuAD-format file, in file order; GoldError saying what is wrong with a file that is not
    one (missing, not UTF-8, not JSON, not shaped `{"data": [{"paragraphs": [{"context", "qas"}]}]}`)."""
    text = read_data(path, "SQuAD file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise GoldError(f"SQuAD file {path} is not one JSON document: {exc.msg} (line {exc.lineno})") from None
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise GoldError(f'SQuAD file {path} has no list of articles under "data"')
    try:
        return [_article(raw, i) for i, raw in enumerate(data["data"])]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise GoldError(f"SQuAD file {path} is not in SQuAD's shape ({type(exc).__name__}: {exc})") from None


def corpus_name(path: Path) -> str:
    """The name a data file goes by in the split file (its stem: `DRCD_dev`)."""
    return path.stem


def make_split(article_ids: list[str], *, seed: int, test_share: float) -> dict[str, list[str]]:
    """A seeded split of article ids into train and test (ids sorted within each part)."""
    ids = sorted(article_ids)
    random.Random(seed).shuffle(ids)
    n_test = round(len(ids) * test_share)
    return {"train": sorted(ids[n_test:]), "test": sorted(ids[:n_test])}


def split_articles(articles: list[Article], split_file: Path, name: str, part: str) -> list[Article]:
    """The articles of one part (train, test or all) of a corpus named in the split file."""
    if part == "all":
        return articles
    try:
        splits = json.loads(split_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise GoldError(f"cannot read the split file {split_file}: {reason} (--split-file, or --split all)") from None
    if not isinstance(splits, dict) or name not in splits:
        known = ", ".join(splits) if isinstance(splits, dict) else "none"
        raise GoldError(f"{split_file} has no split for {name!r} (known: {known}); use --split all")
    wanted = set(splits[name][part])
    return [a for a in articles if a.id in wanted]


@dataclass(frozen=True)
class Sample:
    """Articles that make the corpus, questions about them, and foreign questions about articles left out."""

    corpus: tuple[Article, ...]
    questions: tuple[SquadQuestion, ...]
    foreign: tuple[SquadQuestion, ...]


def sample(articles: list[Article], *, n_articles: int, n_questions: int, n_foreign: int, seed: int) -> Sample:
    """Seeded choice of corpus articles and questions; foreign questions come from the articles not chosen."""
    rng = random.Random(seed)
    order = sorted(articles, key=lambda a: a.id)
    rng.shuffle(order)
    corpus, rest = order[:n_articles], order[n_articles:]
    asked = [q for a in corpus for q in a.questions]
    others = [q for a in rest for q in a.questions]
    questions = rng.sample(asked, min(n_questions, len(asked)))
    foreign = rng.sample(others, min(n_foreign, len(others)))
    return Sample(tuple(sorted(corpus, key=lambda a: a.id)), tuple(questions), tuple(foreign))


def write_corpus(articles: tuple[Article, ...] | list[Article], seeds_dir: Path) -> None:
    """Write each article as a document of a seeds folder (files of other articles are removed)."""
    seeds_dir.mkdir(parents=True, exist_ok=True)
    wanted = {a.file_name for a in articles}
    for old in seeds_dir.glob("*.txt"):
        if old.name not in wanted:
            old.unlink()
    for article in articles:
        path = seeds_dir / article.file_name
        if not path.is_file() or path.read_text(encoding="utf-8") != article.text:
            path.write_text(article.text, encoding="utf-8")


_SENTENCE_END = "。！？!?\n"


def without_answer(article: Article, question: SquadQuestion) -> Article | None:
    """The article without the sentences that hold the question's answer (a corpus on the subject that does not say
    it), or None when the answer is also written elsewhere in it. The article keeps no questions."""
    text, cuts = article.text, []
    for start, end in question.spans:
        before = max(text.rfind(c, 0, start) for c in _SENTENCE_END) + 1
        after = min((i for i in (text.find(c, end) for c in _SENTENCE_END) if i >= 0), default=len(text) - 1) + 1
        cuts.append((before, after))
    kept, at = [], 0
    for start, end in sorted(cuts):
        kept.append(text[at:start])
        at = max(at, end)
    kept.append(text[at:])
    rest = "".join(kept)
    if any(answer and answer in rest for answer in question.answers) or not rest.strip():
        return None
    return Article(article.id, article.title, rest, ())


def near_misses(corpus: tuple[Article, ...], seed: int) -> tuple[tuple[Article, ...], tuple[SquadQuestion, ...]]:
    """One question of each corpus article, and the articles without its answer (seeded choice)."""
    rng = random.Random(seed)
    articles, questions = [], []
    for article in corpus:
        for q in rng.sample(article.questions, len(article.questions)):
            cut = without_answer(article, q)
            if cut is not None:
                articles.append(cut)
                questions.append(q)
                break
        else:
            articles.append(Article(article.id, article.title, article.text, ()))
    return tuple(articles), tuple(questions)
