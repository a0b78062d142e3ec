"""Measure follow-up questions in extractive mode on the external test split: questions that lean on the one before.

    .venv/bin/python scripts/eval_followups.py ../shared/eval/external/DRCD_dev.json [--articles 40] [--seed 0]

DRCD and CMRC 2018 have no conversations, so follow-ups are made from their questions. A question that names its
article's title (`狄托於西元幾年過世？`, article `狄托`) is asked as a reader's second question would be, the title
replaced by a pronoun (`它於西元幾年過世？`), after another question of the same article. Each such question is
asked three ways, of the test articles' corpus (the real pipeline):

- whole: as written, alone (what a follow-up could reach at best);
- elliptical: with the pronoun, alone (what it reaches without the conversation);
- follow-up: with the pronoun, the other question given as history (`/ask`'s `history`);
- new subject: as written, after a question about another article (a conversation that changes subject);

and a question about an article left out of the corpus, after one about the corpus: it should still be abstained.

and the script prints cite_hit (a citation covers the gold answer) and answered for each.

Measured 2026-12-06 (test split, 40 articles, seed 0; DRCD 74 follow-ups, CMRC 2018 110):

| | whole | elliptical | follow-up | new subject | foreign after, abstained |
| --- | --- | --- | --- | --- | --- |
| DRCD cite_hit / answered | 0.878 / 0.959 | 0.770 / 0.838 | 0.770 / 0.838 | 0.878 / 0.959 | 0.892 |
| CMRC 2018 | 0.827 / 0.982 | 0.455 / 0.664 | 0.455 / 0.664 | 0.827 / 0.982 | 0.973 |

The history does not help: a follow-up does as well as the elliptical question alone. Joining the earlier question
to the follow-up for search and evidence lifted follow-ups to 0.797 / 0.591 but answered a foreign question after an
answerable one (abstained 0.041 / 0.018): the earlier question's words answer it. Joining only when the follow-up
alone is abstained, and only when a word of its own is in the answer, changed little (0.770 / 0.464; foreign 0.878
/ 0.955). The earlier question's predicate competes with the follow-up's (羽片 for 花瓣): a follow-up borrows its
subject. Borrowing only the earlier question's names (or first noun), kept when a word of the follow-up's own is in
the answer and its support beats the follow-up's alone: follow-ups 0.797 / 0.500, a new subject unchanged, but
foreign questions after an answerable one abstained 0.851 / 0.955. Not kept: a wrong answer to an unanswerable
question costs more than the gain. The LLM path rewrites follow-ups (QA_LLM_REWRITE_FOLLOWUPS).
"""

from __future__ import annotations

import argparse
import random
import tempfile
from pathlib import Path

from qa.config import Settings
from qa.evaluation.gold import covered
from qa.evaluation.squad import Article, SquadQuestion, corpus_name, load_squad, sample, split_articles, write_corpus
from qa.types import Answer, Turn
from qa.wiring import build_pipeline

ROOT = Path(__file__).resolve().parent.parent
PRONOUN = "它"


def followups(articles: tuple[Article, ...], seed: int) -> list[tuple[SquadQuestion, str, str, str]]:
    """(question, its elliptical form, an earlier question of its article, one of another article) for each question
    naming its title."""
    rng = random.Random(seed)
    out = []
    for article in articles:
        elsewhere = [q.text for a in articles if a.id != article.id for q in a.questions]
        title = article.title.strip()
        if len(title) < 2:
            continue
        for q in article.questions:
            if title not in q.text:
                continue
            others = [o for o in article.questions if o.id != q.id]
            if others:
                out.append((q, q.text.replace(title, PRONOUN), rng.choice(others).text, rng.choice(elsewhere)))
    return out


def cite_hit(q: SquadQuestion, answer: Answer) -> bool:
    """A citation of the question's article covers a gold answer span (as `qa eval --squad` counts it)."""
    pieces = [(c.start, c.end) for c in answer.citations if c.doc == q.article]
    return not answer.abstained and any(covered(span, pieces) for span in q.spans)


def main() -> None:
    """Build the corpus, ask each follow-up three ways, print the shares."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", type=Path)
    ap.add_argument("--split-file", type=Path, default=ROOT / "eval" / "external_split.json")
    ap.add_argument("--articles", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", type=Path, default=None, help="folder for the corpus and its index (default: temporary)")
    args = ap.parse_args()
    articles = split_articles(load_squad(args.data), args.split_file, corpus_name(args.data), "test")
    chosen = sample(articles, n_articles=args.articles, n_questions=0, n_foreign=200, seed=args.seed)
    work = args.work or Path(tempfile.mkdtemp(prefix="qa-followups-"))
    write_corpus(chosen.corpus, work / "seeds")
    settings = Settings().model_copy(
        update={"seeds_dir": work / "seeds", "index_dir": work / "index", "on_index_mismatch": "rebuild"}
    )
    answerer = build_pipeline(settings).answerer
    asked = followups(chosen.corpus, args.seed)
    ways = {
        "whole": [answerer.answer(q.text) for q, *_ in asked],
        "elliptical": [answerer.answer(short) for _, short, *_ in asked],
        "follow-up": [answerer.answer(short, history=[Turn(before, "")]) for _, short, before, _ in asked],
        # A new subject: the whole question after one about another article (the history must not lead it astray).
        "new subject": [answerer.answer(q.text, history=[Turn(other, "")]) for q, _, _, other in asked],
    }
    # A question the corpus cannot answer (about an article left out) after one it can: it must still be abstained.
    foreign = [
        answerer.answer(f.text, history=[Turn(q.text, "")]) for f, (q, *_) in zip(chosen.foreign, asked, strict=False)
    ]
    print(f"{corpus_name(args.data)}: {len(asked)} follow-ups over {len(chosen.corpus)} articles")
    print(f"  foreign after an answerable one: abstained {sum(a.abstained for a in foreign) / len(foreign):.3f}")
    for way, answers in ways.items():
        hits = sum(cite_hit(q, a) for (q, *_), a in zip(asked, answers, strict=True))
        answered = sum(not a.abstained for a in answers)
        print(f"  {way:12s} cite_hit {hits / len(asked):.3f}  answered {answered / len(asked):.3f}")


if __name__ == "__main__":
    main()
