"""Hybrid search: BM25 over folded Chinese tokens fused with FAISS dense scores -> ranked hits."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from qa.config import RetrievalSettings
from qa.indexing.index import Index
from qa.retrieval.backend import SearchBackend
from qa.retrieval.dense import dense_scores
from qa.retrieval.fusion import dense_weight, fuse
from qa.retrieval.lexical import lexical_scores, sentence_bm25
from qa.text.abbreviations import named_in, named_in_english, paired, standing_for
from qa.text.folding import fold
from qa.text.language import Lang, detect_lang
from qa.text.lexicon import english_groups
from qa.text.tokens import STOPWORDS, folded_tokens, tokens
from qa.types import Embedder, Hit, Sentence

# Candidates asked of a search backend for each side, before fusion picks the k best.
BACKEND_CANDIDATES = 50
# A place's character (俄 for 俄羅斯) held by more passages than this is not searched for alone. In a large archive
# some characters are common words too (中 `middle`, 日 `day`: at 10,000 articles they stand alone in 37% and 23% of
# the passages), so they say next to nothing of the place, and scoring one the first time it is asked cost a question
# about 2 ms there (the server's answering p50 over a hundred new questions, 20.7 -> 22.8 ms).
MOST_PASSAGES_FOR_A_CHARACTER = 10_000


@dataclass(frozen=True)
class Query:
    """A question prepared for both sides of the search."""

    text: str
    lang: str
    tokens: tuple[str, ...]
    dense_weight: float
    vector: np.ndarray | None
    # Only chunks of these documents are searched (None: all of them).
    docs: frozenset[str] | None = None


def best(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k highest scores, highest first and equal ones in position order (the first k of a stable
    sort, without sorting them all); a score of -inf is never chosen. When k scores are positive, only those are
    looked at: at 10,000 articles about two thirds of the chunks share no token with a question, and a selection over
    all of them, most of them equal, took twice as long (1.2 against 0.6 ms)."""
    pool = np.flatnonzero(scores > 0)
    if pool.size < k:
        pool = np.flatnonzero(scores > -np.inf)
    if 4 * k < pool.size:
        values = scores[pool]
        kth = np.partition(values, values.size - k)[values.size - k]  # the k-th highest: it and all above it stay
        pool = pool[values >= kth]
    return pool[np.lexsort((pool, -scores[pool]))][:k]


def shortest(renderings: Sequence[str]) -> list[str]:
    """An English word's Chinese renderings but those that hold another of them (加沙 for `Gaza`, not 加沙地帶 too)."""
    return [r for r in renderings if not any(o != r and o in r for o in renderings)]


class Retriever:
    """Ranks chunks (and sentences) of an index for a question."""

    def __init__(
        self,
        index: Index,
        embedder: Embedder,
        settings: RetrievalSettings | None = None,
        backend: SearchBackend | None = None,
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings or RetrievalSettings()
        # Where the two sides search: the index's own postings and vectors, or a backend (Milvus) holding the same.
        self.backend = backend
        self._row = {c.id: i for i, c in enumerate(index.chunks)} if backend is not None else {}
        self.fusion = self.settings.fusion

    def prepare(
        self,
        question: str,
        *,
        lang: Lang | None = None,
        extra_terms: Sequence[str] = (),
        docs: Collection[str] | None = None,
    ) -> Query:
        """Tokenise (with English expansion and any extra terms) and, when it can help, embed the question."""
        lang = lang or detect_lang(question)
        folded = fold(question)
        toks = folded_tokens(folded, drop_stopwords=True)
        groups = english_groups(question, self.index.lexicon, self.index.spellings) if lang == "en" else []
        # An English word is searched for by its renderings that hold no other (加沙 for `Gaza`, not 加沙地帶 too), each
        # token once: searching for both counted 加沙 twice and made the Gaza Strip outweigh the rest of the question.
        # Glossed English test split, 40 articles, seeds 0 / 1 / 2: hit@1 DRCD 0.733 / 0.717 / 0.753 -> 0.767 / 0.743 /
        # 0.78, CMRC 0.576 / 0.68 / 0.625 -> 0.616 / 0.714 / 0.656; cite_hit +0.02 / -0.004 / +0.02 and +0.026 /
        # +0.034 / 0; foreign questions abstained -0.02 / -0.01 / -0.005 and +0.02 / -0.005 / 0.
        toks.extend(
            dict.fromkeys(t for _, chinese in groups for c in shortest(chinese) for t in tokens(c, drop_stopwords=True))
        )
        for term in extra_terms:
            toks.extend(tokens(term, drop_stopwords=True))
        # A place is also written by one character: two together (Russia and Ukraine, 俄羅斯和烏克蘭: 俄烏停火), or
        # one in a compound (對俄制裁, 援烏, 俄方), where it is a word of its own to the tokens.
        places = named_in_english(question, groups) if lang == "en" else named_in(folded)
        toks.extend(p for p in (f"#{pair}" for pair in paired(places)) if self.index.term_df(p))
        toks.extend(
            c
            for c in standing_for(places)
            if c not in STOPWORDS and c not in toks and 0 < self.index.term_df(c) <= MOST_PASSAGES_FOR_A_CHARACTER
        )
        weight = self.dense_weight(question)
        needs_vector = weight > 0 or self.fusion in ("dense", "rrf")
        vector = self.embedder.embed([question])[0] if needs_vector else None
        return Query(question, lang, tuple(toks), weight, vector, frozenset(docs) if docs is not None else None)

    @property
    def dense_useful(self) -> bool:
        """Whether the dense side can ever count here. When the model knows too little of the corpus, it never
        does, and the model need not even be loaded to answer (saving its start-up time and memory)."""
        if self.fusion in ("dense", "rrf"):
            return True
        return self.fusion != "lexical" and self.index.corpus_coverage > self.settings.coverage_floor

    def dense_weight(self, question: str) -> float:
        """How far to trust the dense side: what the model understands of the question and of the corpus."""
        if not self.dense_useful:
            return 0.0
        return dense_weight(min(self.embedder.coverage(question), self.index.corpus_coverage), self.settings)

    def fuse(self, lexical: np.ndarray, dense: np.ndarray | None, weight: float) -> np.ndarray:
        """Combine the two sides' scores by the configured fusion."""
        return fuse(lexical, dense, weight, self.fusion, rrf_k=self.settings.rrf_k)

    def search(self, query: Query, k: int) -> list[Hit]:
        """The k best chunks for a prepared query, best first (only from the query's documents, when it names
        some)."""
        docs = query.docs
        if self.backend is None:
            lexical = lexical_scores(self.index, query.tokens)
            dense = dense_scores(self.index, query.vector) if query.vector is not None else None
        else:
            lexical, dense = self._from_backend(self.backend, query, k)
        fused = self.fuse(lexical, dense, query.dense_weight).astype(np.float64)
        allowed = self.index.live if docs is None else self.index.live & self._in_docs(frozenset(docs))
        fused[~allowed] = -np.inf
        k = min(k, int(allowed.sum()))
        if k <= 0:
            return []
        order = best(fused, k)
        return [
            Hit(
                chunk=self.index.chunks[i],
                score=round(float(fused[i]), 6),
                lexical=round(float(lexical[i]), 6),
                dense=round(float(dense[i]), 6) if dense is not None else 0.0,
            )
            for i in order
        ]

    @staticmethod
    def matched(hits: Sequence[Hit]) -> list[Hit]:
        """The hits the query matched at all (a positive score), as callers are shown them: a passage that shares no
        word with the question, where no dense side ranks it, is no result (it was first only by index order)."""
        return [h for h in hits if h.score > 0]

    def _from_backend(self, backend: SearchBackend, query: Query, k: int) -> tuple[np.ndarray, np.ndarray | None]:
        """Both sides' scores from the backend's best candidates (every other chunk scores 0)."""
        wanted = max(BACKEND_CANDIDATES, 4 * k)
        lexical = np.zeros(len(self.index.chunks), dtype=np.float32)
        for chunk_id, score in backend.lexical(query.tokens, wanted, query.docs):
            if (row := self._row.get(chunk_id)) is not None:
                lexical[row] = score
        if query.vector is None:
            return lexical, None
        dense = np.zeros(len(self.index.chunks), dtype=np.float32)
        for chunk_id, score in backend.dense(query.vector, wanted, query.docs):
            if (row := self._row.get(chunk_id)) is not None:
                dense[row] = score
        return lexical, dense

    def _in_docs(self, docs: frozenset[str]) -> np.ndarray:
        """The chunk rows of these documents, as a mask over every row."""
        mask = np.zeros(len(self.index.chunks), dtype=bool)
        rows = self.index.doc_rows
        for doc in docs:
            if (found := rows.get(doc)) is not None:
                mask[found] = True
        return mask

    def sentence_scores(self, query: Query, sentences: Sequence[Sentence] | None = None) -> np.ndarray:
        """BM25 of sentences for a prepared query, with the corpus's IDF: of the given ones, in order, or of every
        sentence of the index by position (for small corpora only). Their tokens were counted when the index was
        built."""
        if sentences is None:
            positions: Sequence[int] = range(len(self.index.sentences))
        else:
            position = self.index.sentence_position
            positions = [position[t.id] for t in sentences]
        return sentence_bm25(self.index, positions, query.tokens)
