"""Words and tokens of folded text: jieba words and character bigrams for BM25, English stems and stopwords, topic
words; and the signature an index records of them. Pure functions."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from functools import cache, lru_cache
from importlib import resources

import jieba
import Stemmer

from qa.text.folding import fold, to_simplified
from qa.text.injection import filter_signature
from qa.text.language import CJK, CJK_RE
from qa.text.postags import pos_cut

# The pieces a folded text is cut into before tokens: English words, numbers, %, Chinese runs (10月30日: 10 月 30 日).
PIECE_RE = re.compile(f"[a-z]+|\\d+(?:\\.\\d+)?|%|[{CJK}]+")
# Words that carry no topic; dropped from queries and sentences when scoring overlap.
STOPWORDS = frozenset(
    """的 了 是 在 和 与 及 或 也 都 就 又 还 而 对 把 被 给 让 向 从 到 于 以 为 之 其 这 那 这个 那个 这场
    这次 那次 什么 哪 哪些 哪个 哪一天 哪里 谁 吗 呢 吧 啊 么 怎么 怎样 如何 为什么 为何 多少 几 有 没有 是否
    文章 作者 认为 提到 说 请问 一 个 各自 分别 到底 真的 后来 当时 一共 共 各 些 所 得 地 着 过 会 能 要 想
    一直 这种 那种 说法 看法 解读 怎么 怎么样 如何 哪一 哪一个 之后 以后 之前 以前 时候 起了 什么样 有何 何种 是不是
    为了 对于 关于 根据 按照 所谓 曾经 已经 还是 又 再 很 最 更 多 非常 呢 嘛 啦 吧 哦 表示 指出 提及 描述 讲 谈
    a an the of to in on at for by with from and or is are was were be been being do does did has have had
    what which who whom whose when where why how many much does did according article author say says said
    that this these those it its as about into than then there their they he she his her not no yes so
    way think each also just only still yet all any some more most very can could would should will may
    might must get got make made take keep kept give go come thing things other such tell told
    i me my we our you your us them him if but because while over under up down out off again already
    ever even really actually
    """.split()
)


@cache
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def stem(word: str) -> str:
    """Snowball stem of an English word, lower-cased."""
    return str(_stemmer().stemWord(word.lower()))


# Endings of a stem that derive one English word from another (threaten: threat, government: govern, deliveri(es):
# deliver: deliv), taken off in turn while four letters stay; a lexicon key of a stem's root starts with ROOT_KEY.
_DERIVED = ("ment", "ness", "ship", "al", "en", "er", "i", "y")
ROOT_KEY = "^"


def root(stemmed: str) -> str:
    """The root of a stem: its derivational endings taken off (`threaten` and `threat` share `threat`)."""
    cut = True
    while cut:
        cut = False
        for ending in _DERIVED:
            if stemmed.endswith(ending) and len(stemmed) - len(ending) >= 4:
                stemmed, cut = stemmed[: -len(ending)], True
                break
    return stemmed


def base_stems(text: str) -> dict[str, str]:
    """The stems of a text's English words whose dictionary form stems otherwise (`flew` -> `fli` of fly, `held` ->
    `hold`, `frozen` -> `freez`, `metres` -> `meter`): the Snowball stemmer leaves irregular forms as they are, and
    dictionaries gloss the dictionary form, in American spelling. simplemma's English lemma table (bundled, read once:
    ~0.15 s)."""
    out = {}
    for word in re.findall(r"[A-Za-z]+", text):
        if len(word) < 3 or word.isupper() or word.lower() in STOPWORDS:
            continue
        own, base = stem(word), stem(american(_lemma(word.lower())))
        if base != own:
            out[own] = base
    return out


# British spellings and their American ones, which CC-CEDICT's glosses use (metre: meter, colour: color, defence:
# defense, organise: organize, travelled: traveled).
_BRITISH = (
    (re.compile(r"(?<=[^aeiou])re$"), "er"),
    (re.compile(r"(?<=[a-z]{2})our$"), "or"),
    (re.compile(r"^(def|off|lic|pret)ence$"), r"\1ense"),  # not conference, evidence
    (re.compile(r"(?<=[a-z]{2}[lng])is(e|ed|es|ing|ation)$"), r"iz\1"),  # not promise, surprise, exercise
    (re.compile(r"(?<=[aeiou])ll(ed|ing)$"), r"l\1"),
)


def american(word: str) -> str:
    """A lower-case English word in American spelling (`metre` -> `meter`); other words as they are."""
    for pattern, spelled in _BRITISH:
        word = pattern.sub(spelled, word)
    return word


@lru_cache(maxsize=4096)
def _lemma(word: str) -> str:
    import simplemma  # its tables are read when an English question first needs them

    return str(simplemma.lemmatize(word, lang="en"))


def english_terms(text: str) -> list[str]:
    """Stemmed English content words of a text; an acronym (US, EU) is never a stopword."""
    return [
        stem(w) for w in re.findall(r"[A-Za-z]+", text) if len(w) > 1 and (w.isupper() or w.lower() not in STOPWORDS)
    ]


# A question's Chinese runs are cut for its topic words and again for its BM25 tokens: the last few thousand short
# runs' words are remembered.
_MEMO_RUN = 64


def _cut(run: str) -> tuple[str, ...]:
    """jieba's words (no HMM) of a run of Chinese characters, blanks left out."""
    return _cut_short(run) if len(run) <= _MEMO_RUN else _cut_run(run)


@lru_cache(maxsize=4096)
def _cut_short(run: str) -> tuple[str, ...]:
    return _cut_run(run)


def _cut_run(run: str) -> tuple[str, ...]:
    return tuple(w for w in jieba.lcut(run, HMM=False) if w.strip())


def _words(folded: str) -> Iterator[str]:
    for m in PIECE_RE.finditer(folded):
        piece = m.group()
        if CJK_RE.match(piece):
            yield from _cut(piece)
        else:
            yield piece


def word_starts(folded: str) -> frozenset[int]:
    """Where the words of a folded text begin: each jieba word of its Chinese runs, each of its other pieces."""
    starts: set[int] = set()
    for m in PIECE_RE.finditer(folded):
        at = m.start()
        if CJK_RE.match(m.group()):
            for word in _cut(m.group()):
                starts.add(at)
                at += len(word)
        else:
            starts.add(at)
    return frozenset(starts)


def words(text: str) -> list[str]:
    """Fold text and cut it into words: jieba words for Chinese, lower-case words and numbers otherwise."""
    return list(_words(fold(text)))


def bigrams(folded_word: str) -> Iterator[str]:
    """Character bigrams of a run of Chinese characters."""
    return (folded_word[i : i + 2] for i in range(len(folded_word) - 1))


def pair_tokens(run: str) -> list[str]:
    """The BM25 tokens of a Chinese run's character pairs (`#xy`)."""
    return ["#" + b for b in bigrams(run)]


def tokens(text: str, *, drop_stopwords: bool = False) -> list[str]:
    """BM25 tokens: folded words plus character bigrams of the Chinese runs they came from."""
    return folded_tokens(fold(text), drop_stopwords=drop_stopwords)


def folded_tokens(folded: str, *, drop_stopwords: bool = False) -> list[str]:
    """The BM25 tokens of a text already folded."""
    out: list[str] = []
    for m in PIECE_RE.finditer(folded):
        piece = m.group()
        if CJK_RE.match(piece):
            cut = _cut(piece)
            out.extend(w for w in cut if not (drop_stopwords and w in STOPWORDS))
            out.extend(pair_tokens(piece))
        elif not (drop_stopwords and piece in STOPWORDS):
            out.append(stem(piece) if piece.isalpha() else piece)
    return out


def content_terms(text: str) -> list[str]:
    """The topic words of a text: folded words without stopwords or single CJK function characters."""
    return [w for w in words(text) if w not in STOPWORDS]


# 2: script folding goes through Traditional with Taiwan's words (qa.text.folding); 3: the English lexicon an index
# holds keeps the plainest translations of a word glossed by too many, words of two-word glosses, and roots (`threat`);
# 4: ... and both ways a CC-CEDICT sense gives a name (`Zhanghua or Changhua`); 5: an idiom's two-word gloss keys no
# phrase (民不聊生 `the people have no way to make a living` is no `people live`); 6: the words that give another name
# fold to one (又稱, 俗稱, 又名 -> 别名: qa.text.folding); 7: a pinyin syllable sounds the vowel after its medial glide
# (qa.text.transliteration), which decides the corpus words the lexicon takes for transliterated names
TOKENIZER_VERSION = 7


def tokenizer_signature() -> dict[str, str | int]:
    """What the BM25 tokens depend on; an index built under another signature is stale."""
    data = resources.files("qa.text").joinpath("data")
    tables = data.joinpath("aliases.tsv").read_bytes() + data.joinpath("english.tsv").read_bytes()
    return {
        "version": TOKENIZER_VERSION,
        "tables_sha256": hashlib.sha256(tables).hexdigest(),
        "jieba": str(jieba.__version__),
        "instruction_filter": filter_signature(),
    }


def initialise() -> None:
    """Load jieba's dictionary and the converters now rather than on the first request."""
    jieba.setLogLevel(60)
    jieba.initialize()
    fold("預熱")
    to_simplified("預熱")
    pos_cut("預熱")  # the part-of-speech HMM's tables, as arrays
