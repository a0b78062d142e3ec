"""Names a question asks about that the corpus never mentions (people, places, bodies, acronyms): a question about
one of them is abstained on, saying so. Found by jieba's part-of-speech tags (its HMM for names its dictionary lacks),
Latin words written as names, and runs of capitalised English words; never common words, fragments of the words
around a name, or a name the corpus writes another way (its English in CC-CEDICT, its sound, its pinyin)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

import jieba
import jieba.posseg as pseg

from qa.answering.matching import SentenceStats
from qa.answering.question import Question
from qa.text.language import CJK_RE
from qa.text.lexicon import MOST_SPELLED, common_words, english_common_words, transliterations
from qa.text.names import dictionary_tag
from qa.text.pinyin_names import readings
from qa.text.postags import pos_cut
from qa.text.tokens import STOPWORDS, stem

# jieba's part-of-speech tags for names of people, places, organisations and other proper nouns.
_NAME_TAGS = frozenset({"nr", "nrt", "nrfg", "ns", "nt", "nz"})
# Particles, conjunctions and prepositions: a "name" with one of these at its edge is a fragment of the words
# around it (和普京 from 特朗普和普京; 鸡毛松|才, 上部叶|有), not a name.
_FUNCTION_CHARS = "的了是在和与及或也都就又还而对把被给让向从到于之其这那吗呢吧啊么着过跟同并但将由才有"
# Localisers: after a noun one belongs to it (问题上, 世纪中), so a name the HMM guesses that opens with one right after
# a noun (问题|上乔|不拢 of 在哪个问题上乔不拢) is that localiser glued to what follows it.
_LOCALISERS = "上下中内外里前后间旁边"
# Most characters of a question that jieba's HMM may tag (it finds names its dictionary lacks: 莫迪). Its cost grows
# with the characters' possible states, ~0.15 ms a character it knows and ~1.3 ms one it does not (all 256 states),
# so it never sees an unknown character and never more than this many in all (measured with jieba's own Viterbi;
# qa/text/postags.py's costs ~0.03 ms a character, and keeps the budget so that answers stay the same).
HMM_BUDGET = 16
# Capitalised English words in a row are one name (`Downing Street`); the first word of a sentence alone is not a
# name, but with capitalised words after it, it is part of theirs (`Li Rihua was born when?`), unless it is a question
# word (`Did Putin …`).
_EN_NAME_RE = re.compile(r"\b[A-Z][A-Za-z]+(?:[ \-][A-Z][A-Za-z]+)*")
_SENTENCE_END_RE = re.compile(r"[.?!]\s")
_LEADING_WORD_RE = re.compile(r"([A-Za-z]+)[ \-]")
# A Roman numeral, which names nothing by itself (World War II, Elizabeth II).
_ROMAN_RE = re.compile(r"[IVXLC]+")

# A run of Latin letters and digits, as jieba cuts them out of Chinese text.
_LATIN_WORD_RE = re.compile(r"[A-Za-z0-9]+")


def unknown_names(stats: SentenceStats, question: Question, lexicon: dict[str, list[str]]) -> list[str]:
    """Names in the question (people, places, bodies, acronyms) that the corpus mentions under no name.

    Linear in the question's length. A name counts as mentioned when the folded corpus holds it, or a corpus word
    has its English (俄國 and 俄羅斯 are both `Russia`); common words and fragments of the words around a name
    never count as names."""
    if question.lang == "en":
        # Only the first MOST_SPELLED names are looked for in pinyin (qa.text.lexicon).
        names = list(dict.fromkeys(_english_names(question.text.strip())))
        return [n for k, n in enumerate(names) if not _known_english(stats, n, lexicon, spell=k < MOST_SPELLED)]
    out: list[str] = []
    joined = False  # whether the word before was an unknown name, which this one may continue (梅德韦|杰夫)
    # A Latin word in a Chinese question names something when it is written as names are (NATO, Gripen, iPhone);
    # one in lower case is a word of English (多少架 fighter jets), as in an English question.
    cased = {w.lower() for w in _LATIN_WORD_RE.findall(unicodedata.normalize("NFKC", question.text)) if not w.islower()}
    previous = ""
    for word, tag, guessed in _tagged(question.folded):
        after_noun, previous = previous.startswith("n"), tag
        if word.isascii() and word not in cased:
            joined = False
            continue
        if guessed and after_noun and word[0] in _LOCALISERS:
            word = word[1:]
        name = _unknown_word(stats, word, tag, guessed, lexicon)
        if name and joined and name == word:
            out[-1] += name
        elif name:
            out.append(name)
        joined = name == word and not word.isascii()
    return list(dict.fromkeys(out))


def _unknown_word(
    stats: SentenceStats, word: str, tag: str, guessed: bool, lexicon: dict[str, list[str]]
) -> str | None:
    """The name a word of a Chinese question stands for, when the corpus mentions it under no name."""
    common = common_words()
    if len(word) < 2 or stats.contains(word):
        return None
    if word.isascii():
        return word if any(c.isalpha() for c in word) and not _known_english(stats, word, lexicon) else None
    if word in common:
        return None
    if tag not in _NAME_TAGS:
        return _unknown_inside(stats, word, lexicon) if len(word) > 2 else None
    # jieba (its dictionary as well as its HMM) joins a particle to a name: 和普京 from 特朗普和普京 (its dictionary
    # even holds 由威廉); but a name that ends in such a character stays whole when what is left is no word of the
    # dictionary (土耳其, not 土耳).
    core = word.strip(_FUNCTION_CHARS)
    if core != word and dictionary_tag(core) is None and dictionary_tag(word) in _NAME_TAGS:
        core = word
    if len(core) < 2 or core in common or (core != word and stats.contains(core)):
        return None
    # A name the HMM guessed that is a corpus word with a neighbour's character glued on (普京说) is that word.
    if guessed and len(core) > 2 and (stats.contains(core[1:]) or stats.contains(core[:-1])):
        return None
    return None if stats.other_names(core, lexicon) else core


def _unknown_inside(stats: SentenceStats, word: str, lexicon: dict[str, list[str]]) -> str | None:
    """The place a longer word the corpus lacks opens with (日本首相 is one dictionary word, a noun: 日本), when the
    corpus mentions it under no name either. Only a place (ns) that opens the word: jieba's dictionary tags words
    such as 英文名 and 由威廉 as people's names."""
    common = common_words()
    parts: list[str] = list(jieba.cut_for_search(word, HMM=False))
    for part in parts:
        if len(part) < 2 or part == word or not word.startswith(part) or dictionary_tag(part) != "ns":
            continue
        if not stats.contains(part) and part not in common and not stats.other_names(part, lexicon):
            return part
    return None


def _in_corpus(stats: SentenceStats, lexicon: dict[str, list[str]], key: str) -> bool:
    return any(stats.contains(c) for c in lexicon.get(key, ()))


def _known_english(stats: SentenceStats, name: str, lexicon: dict[str, list[str]], *, spell: bool = True) -> bool:
    """An English name is known when one of its uncommon words or its two-word phrase is found in the corpus."""
    words = re.findall(r"[A-Za-z]+", name)
    if not words or stats.contains(name.lower()):
        return True
    stems = [stem(w) for w in words]
    if len(stems) > 1 and _in_corpus(stats, lexicon, "_".join(stems[:2])):
        return True
    # A Roman numeral (World War II, Elizabeth II) names nothing by itself: the words around it decide.
    uncommon = [
        (w, s)
        for w, s in zip(words, stems, strict=True)
        if w.lower() not in english_common_words() and not _ROMAN_RE.fullmatch(w)
    ]
    if not uncommon or any(stats.has_stem(s) or _in_corpus(stats, lexicon, s) for _, s in uncommon):
        return True
    # A transliterated name the corpus writes in Chinese only (Zelensky: 澤連斯基), found by its sound; or a Chinese
    # name written in pinyin (Gu Zhenglun: 谷正倫).
    heard = transliterations(name, lexicon)
    if any(stats.contains(c) for _, s in uncommon for c in heard.get(s, ())):
        return True
    if spell and any(stats.contains(c) for c in stats.index.spellings([w for w, _ in uncommon])):
        return True
    # ... or all of its words in pinyin, a surname English uses too among them (Li, Pan, Yang: `Li Rihua`).
    return spell and len(uncommon) < len(words) and any(stats.contains(c) for c in stats.index.spellings(words))


def _english_names(text: str) -> Iterator[str]:
    """The names of an English text: runs of capitalised words, less a sentence's first word when it stands alone or
    is no part of the name (_not_a_name)."""
    for m in _EN_NAME_RE.finditer(text):
        run = m.group()
        at = m.start()
        if at == 0 or _SENTENCE_END_RE.fullmatch(text, at - 2, at):
            if " " not in run and "-" not in run:
                continue  # a sentence's first word alone
            while (first := _LEADING_WORD_RE.match(run)) and _not_a_name(first.group(1).lower()):
                run = run[first.end() :]
        yield run


def _not_a_name(word: str) -> bool:
    """A sentence's first word that is no part of the name after it: a question word, or an English word that is no
    pinyin syllable (`Describe`, `Compare`; but `Li`, `Pan`, `Yang` may be a surname)."""
    return word in STOPWORDS or (word in english_common_words() and word not in readings())


def _tagged(folded: str) -> Iterator[tuple[str, str, bool]]:
    """The words of a folded text in order, with their part-of-speech tags and whether jieba's HMM guessed them.

    Dictionary words take their dictionary tag (a lookup, linear in the text). Only runs of characters the dictionary
    cuts one by one go through the HMM, and only while they stay within HMM_BUDGET characters that the HMM knows."""
    tags = pseg.dt.word_tag_tab
    known = pseg.char_state_tab_P
    budget = HMM_BUDGET
    run = ""
    for word in [*jieba.lcut(folded, HMM=False), ""]:
        if len(word) == 1 and CJK_RE.match(word):
            run += word
            continue
        if 1 < len(run) <= budget and all(c in known for c in run):
            budget -= len(run)
            yield from ((w, f, len(w) > 1) for w, f in pos_cut(run))
        else:
            yield from ((c, tags.get(c, "x"), False) for c in run)
        run = ""
        if word:
            yield word, "eng" if word.isascii() else tags.get(word, "x"), False
