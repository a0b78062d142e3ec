"""Article -> chunks and sentences with stable ids and exact character offsets."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass

from qa.text.sentences import sentence_spans, trimmed
from qa.types import Chunk, ChunkKind, Document, Sentence

# A photo caption ends with its agency in brackets: `（Reuters）`, `(Getty)`.
_CAPTION_RE = re.compile(r"[（(]\s*[A-Za-z][A-Za-z .&/-]{1,40}[）)]\s*\Z")
_CLAUSE_MARKS = "，,。；;：:"


@dataclass(frozen=True)
class ChunkerSettings:
    """How documents are cut; recorded in the index manifest."""

    max_chars: int = 400
    heading_max_chars: int = 30
    version: int = 2  # 2: English sentences end at a full stop (qa/text/sentences.py)

    def as_dict(self) -> dict[str, int]:
        """Plain dict for the manifest."""
        return asdict(self)


def paragraph_spans(text: str, start: int = 0) -> Iterator[tuple[int, int]]:
    """(start, end) of each non-blank line of text[start:], trimmed."""
    pos = start
    for m in re.finditer(r"\n", text[start:]):
        end = start + m.start()
        yield from trimmed(text, pos, end)
        pos = end + 1
    yield from trimmed(text, pos, len(text))


def is_heading(paragraph: str, settings: ChunkerSettings) -> bool:
    """A short line with no clause punctuation inside is a section heading."""
    body = paragraph.rstrip("？?！!")
    return (
        len(paragraph) <= settings.heading_max_chars
        and not any(mark in body for mark in _CLAUSE_MARKS)
        and not _CAPTION_RE.search(paragraph)
    )


def chunk_document(doc: Document, settings: ChunkerSettings | None = None) -> list[Chunk]:
    """Cut a document into paragraph chunks (long paragraphs split at sentence ends)."""
    settings = settings or ChunkerSettings()
    chunks: list[Chunk] = []
    heading: str | None = None
    spans = list(paragraph_spans(doc.text, doc.body_start))
    # A text of headings only (a one-line brief, `市長週一辭職`) is its own text: nothing would be indexed otherwise.
    all_headings = all(is_heading(doc.text[s:e], settings) for s, e in spans)
    for p_start, p_end in spans:
        paragraph = doc.text[p_start:p_end]
        if is_heading(paragraph, settings) and not all_headings:
            heading = paragraph
            continue
        kind: ChunkKind = "caption" if _CAPTION_RE.search(paragraph) else "text"
        for c_start, c_end, spans in _windows(doc.text, p_start, p_end, settings.max_chars):
            chunk_id = f"{doc.id}:c{len(chunks):03d}"
            sentences = tuple(
                Sentence(id=f"{chunk_id}s{i:02d}", doc=doc.id, chunk_id=chunk_id, start=s, end=e, text=doc.text[s:e])
                for i, (s, e) in enumerate(spans)
            )
            chunks.append(
                Chunk(
                    id=chunk_id,
                    doc=doc.id,
                    start=c_start,
                    end=c_end,
                    text=doc.text[c_start:c_end],
                    kind=kind,
                    heading=heading,
                    sentences=sentences,
                )
            )
    return chunks


def _with_credits_joined(text: str, spans: Iterator[tuple[int, int]]) -> list[tuple[int, int]]:
    """A photo credit (`(Reuters)`) after a sentence end belongs to that sentence."""
    out: list[tuple[int, int]] = []
    for s, e in spans:
        if out and _CAPTION_RE.fullmatch(text[s:e]):
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


# Where a sentence longer than a chunk may be cut: after a clause mark, else at a blank.
_CLAUSE_BREAK_RE = re.compile(r"[，,、：:]|\s+")


def _bounded(text: str, spans: list[tuple[int, int]], max_chars: int) -> Iterator[tuple[int, int]]:
    """The spans, each one longer than max_chars cut into pieces of at most max_chars: after the last clause mark (or
    blank) that fits, else at max_chars. A text with no sentence end (a transcript, a list) was one sentence: a
    citation of thousands of characters."""
    for s, e in spans:
        while e - s > max_chars:
            breaks = [m.end() for m in _CLAUSE_BREAK_RE.finditer(text, s + max_chars // 4, s + max_chars)]
            cut = breaks[-1] if breaks else s + max_chars
            yield from trimmed(text, s, cut)
            s = cut
        yield from trimmed(text, s, e)


def _windows(text: str, start: int, end: int, max_chars: int) -> Iterator[tuple[int, int, list[tuple[int, int]]]]:
    """Group a paragraph's sentences into runs of at most max_chars (a longer sentence is cut: _bounded)."""
    group: list[tuple[int, int]] = []
    for span in _bounded(text, _with_credits_joined(text, sentence_spans(text, start, end)), max_chars):
        if group and span[1] - group[0][0] > max_chars:
            yield group[0][0], group[-1][1], group
            group = []
        group.append(span)
    if group:
        yield group[0][0], group[-1][1], group
