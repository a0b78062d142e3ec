"""Phonetic matching of English proper names to Chinese transliterations (Zelensky ~ 泽连斯基 ze lian si ji).

Both sides become consonant skeletons over shared sound classes (English `z`, `s`, `ts` and pinyin z, c, s, x are
all S; `l` and `r` are L; ...), compared by an edit distance in which near classes (pinyin ji for English `ky`)
cost half. Pure functions: the pinyin of the corpus names is computed at index time (see qa.indexing.lexicon)."""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from pypinyin import Style, lazy_pinyin

# Lexicon keys that hold the corpus's candidate names start with this (English stems never do): NAME_KEY + the
# first sound class of the name's skeleton (`~S` holds 泽连斯基), so a question looks up a few keys, not all names.
NAME_KEY = "~"
# Lowest similarity at which an English name is taken to be a corpus name; measured on CC-CEDICT's transliterated
# names (scripts/eval_transliteration.py, train split): see its report for the accuracy and the false matches.
THRESHOLD = 0.81
# The characters CC-CEDICT's transliterated names use most (three times or more in the train split of
# scripts/eval_transliteration.py), less those that mostly translate (座 人 国 山 岛 ...), and 连 (泽连斯基, which the
# dictionary's older names seldom use); Simplified, as folded.
TRANSLITERATION_CHARS = (
    "温努坎莫宁蒂朗昂什班汉劳隆卫凯默浦查切厄娜耳柏瑟斐松桑奈拿登嘉施邦俾费敦陀迈莉丝叶贾扎依乔娅捷孟钦扬司甘柯"
    "涅佐丘留芬艾黎谢培莎尤瑞泽胡彼盖连"
    "斯尔拉克亚特罗利德里尼阿布西巴加卡马多瓦伯纳兰格维莱达奥波夫伊诺萨比塞洛吉基林塔普安鲁哈佛科托埃曼福顿雅"
    "弗迪勒古帕贝恩堡威兹森哥赫杰索苏米菲那耶霍姆玛坦列提欧摩路奇丹希蒙伦茨赛康喀乌沃库雷代雪卢根撒印麦博沙"
    "密丽辛杜俄皮穆梅约戈丁泰史"
)
# Classes a transliteration often swaps (pinyin ji for English `ky`, hua for `wa`, n for m before b): half cost.
_NEAR = frozenset(frozenset(p) for p in ("JG", "JS", "HG", "HF", "MN", "BF", "DS", "GS", "BD", "DL", "NL", "BM", "GD"))
# English spellings, longest first, and their sound classes ('' is silent, as vowels and `y` are).
_ENGLISH = (
    ("tsch", "J"), ("sch", "S"), ("tch", "J"), ("ght", "D"),
    ("sh", "S"), ("ch", "J"), ("ph", "F"), ("th", "D"), ("ck", "G"), ("kh", "H"), ("gh", "G"),
    ("wh", "F"), ("ts", "S"), ("tz", "S"), ("dz", "S"), ("zh", "J"), ("ng", "N"), ("qu", "G"), ("x", "GS"),
    ("b", "B"), ("p", "B"), ("d", "D"), ("t", "D"), ("g", "G"), ("k", "G"), ("q", "G"), ("h", "H"), ("j", "J"),
    ("s", "S"), ("z", "S"), ("l", "L"), ("r", "L"), ("m", "M"), ("n", "N"), ("f", "F"), ("v", "F"), ("w", "F"),
)  # fmt: skip
_PINYIN_INITIALS = (
    ("zh", "J"), ("ch", "J"), ("sh", "S"), ("b", "B"), ("p", "B"), ("m", "M"), ("f", "F"), ("d", "D"),
    ("t", "D"), ("n", "N"), ("l", "L"), ("g", "G"), ("k", "G"), ("h", "H"), ("j", "J"), ("q", "J"), ("x", "S"),
    ("r", "L"), ("z", "S"), ("c", "S"), ("s", "S"), ("w", "F"), ("y", ""),
)  # fmt: skip
_VOWELS = frozenset("aeiouy")
# Vowel classes of English letters and of pinyin finals (the vowel after a medial i or u decides: jie -> e, jia -> a).
_VOWEL_CLASS = {"a": "a", "e": "e", "i": "i", "o": "o", "u": "u", "y": "i", "v": "u", "ü": "u"}
_NEAR_VOWELS = frozenset(frozenset(p) for p in ("ei", "ou", "ae", "ao"))
# Cost of leaving out a sound: an English vowel or a weak consonant (an `r` or `h` after a vowel, which Chinese
# often drops: Morgan -> 摩根, Perth -> 帕斯), and a pinyin vowel that only carries a bare consonant (斯 si, 克 ke).
_VOWEL_COST = 0.5
_WEAK_COST = 0.5
_EPENTHETIC_COST = 0.2
_SYLLABLE_RE = re.compile(r"^[a-zü]+$")

Skeleton = tuple[tuple[str, float], ...]


def english_skeleton(name: str) -> Skeleton:
    """The sounds of an English (or Latin-script) name as (class, cost to leave out): consonants by sound class
    (upper case), vowels by vowel class (lower case): `Zelensky` -> S e L e N S G i."""
    letters = "".join(c for c in unicodedata.normalize("NFKD", name.lower()) if "a" <= c <= "z")
    if len(letters) > 3 and letters.endswith("e") and letters[-2] not in _VOWELS:
        letters = letters[:-1]  # a silent final e (Rochelle)
    out: list[tuple[str, float]] = []
    i = 0
    while i < len(letters):
        letter = letters[i]
        after_vowel = i > 0 and letters[i - 1] in _VOWELS
        if letter in _VOWELS:
            glide = letter == "y" and letters[i + 1 : i + 2] in _VOWELS  # y before a vowel (Yanukovych)
            if not glide and not (out and out[-1][0].islower()):  # a vowel pair (ea, ou) is one vowel
                out.append((_VOWEL_CLASS[letter], _VOWEL_COST))
            i += 1
            continue
        if letter == "c":  # soft before e, i, y (Cecil), hard otherwise (Carter)
            out.append(("S" if letters[i + 1 : i + 2] in ("e", "i", "y") else "G", 1.0))
            i += 1
            continue
        for spelling, sound in _ENGLISH:
            if letters.startswith(spelling, i):
                weak = after_vowel and spelling in ("r", "h") and letters[i + 1 : i + 2] not in _VOWELS
                out.extend((s, _WEAK_COST if weak else 1.0) for s in sound)
                i += len(spelling)
                break
        else:
            i += 1
    return _collapse(out)


def pinyin_skeleton(syllables: list[str]) -> Skeleton:
    """The sounds of toneless pinyin syllables: each initial's class, the final's vowel class, and a final n or ng
    (ze lian si ji -> S e L e N S i J i); er (尔, an English `r`) is a weak L, and the vowel of a syllable that
    only carries a consonant (斯 si, 克 ke, 夫 fu) is cheap to leave out."""
    out: list[tuple[str, float]] = []
    for syllable in syllables:
        if syllable == "er":
            out.append(("L", _WEAK_COST))
            continue
        rest = syllable
        for spelling, sound in _PINYIN_INITIALS:
            if syllable.startswith(spelling):
                if sound:
                    out.append((sound, 1.0))
                rest = syllable[len(spelling) :]
                break
        # The final's vowel, after a medial glide (jia 加 for `ga`, lian 连 for `len`, guo 果 for `go`).
        medial = len(rest) > 1 and rest[0] in "iuüv" and rest[1] in _VOWEL_CLASS
        vowel = rest[1] if medial else next((c for c in rest if c in _VOWEL_CLASS), "")
        if vowel:
            bare = rest in ("i", "e", "u") and syllable != rest
            out.append((_VOWEL_CLASS[vowel], _EPENTHETIC_COST if bare else _VOWEL_COST))
        if rest.endswith(("n", "ng")) and len(rest) > 1:
            out.append(("N", 1.0))
    return _collapse(out)


def _collapse(sounds: list[tuple[str, float]]) -> Skeleton:
    """One sound for a doubled consonant (Pittsburgh's `tt` is one D)."""
    out: list[tuple[str, float]] = []
    for sound in sounds:
        if out and out[-1][0] == sound[0] and sound[0].isupper():
            continue
        out.append(sound)
    return tuple(out)


@lru_cache(maxsize=200_000)
def pinyin(word: str) -> tuple[str, ...]:
    """Toneless pinyin syllables of a Chinese word (`ü` as `v`); empty when a character has no reading."""
    syllables = lazy_pinyin(word, style=Style.NORMAL, errors="ignore", v_to_u=False)
    return tuple(syllables) if len(syllables) == len(word) and all(map(_SYLLABLE_RE.match, syllables)) else ()


@lru_cache(maxsize=200_000)
def chinese_skeleton(word: str) -> Skeleton:
    """The sounds of a Chinese word's pinyin (empty when it has none)."""
    return pinyin_skeleton(list(pinyin(word)))


def _swap(a: str, b: str) -> float:
    if a == b:
        return 0.0
    if a.islower() != b.islower():
        return 3.0  # a vowel for a consonant: never cheaper than leaving both out
    if a.islower():
        return 0.25 if frozenset((a, b)) in _NEAR_VOWELS else 0.5
    return 0.5 if frozenset((a, b)) in _NEAR else 1.0


def similarity(english: Skeleton, chinese: Skeleton) -> float:
    """How alike two skeletons sound: 1 - weighted edit distance / the heavier skeleton (0 when either is empty)."""
    if not english or not chinese or not any(c.isupper() for c, _ in english):
        return 0.0
    previous = [0.0]
    for _, cost in chinese:
        previous.append(previous[-1] + cost)
    for a, cost_a in english:
        current = [previous[0] + cost_a]
        for j, (b, cost_b) in enumerate(chinese, start=1):
            current.append(min(previous[j] + cost_a, current[j - 1] + cost_b, previous[j - 1] + _swap(a, b)))
        previous = current
    return max(0.0, 1.0 - previous[-1] / max(sum(c for _, c in english), sum(c for _, c in chinese)))


def _first(skeleton: Skeleton) -> str:
    return next((c for c, _ in skeleton if c.isupper()), "")


def name_key(skeleton: Skeleton) -> str:
    """The lexicon key a corpus name of this skeleton is stored under: its first consonant's class."""
    return NAME_KEY + _first(skeleton)


def query_keys(skeleton: Skeleton) -> list[str]:
    """The lexicon keys an English name's candidates are under: its first consonant's class and the classes near
    it, and the second consonant's too (a Chinese name may drop an English initial: Hanoi's `h`)."""
    consonants = [c for c, _ in skeleton if c.isupper()]
    firsts = set(consonants[:2])
    firsts |= {c for pair in _NEAR for c in pair if pair & firsts}
    return [NAME_KEY + c for c in sorted(firsts)]


# Every sound class a skeleton can hold (the consonants the spellings above give, the vowel classes), and the cost of
# swapping each pair, as _swap gives it: a table, so that one English name is compared with many corpus names at once.
_CLASSES = "".join(
    sorted({c for _, sound in _ENGLISH + _PINYIN_INITIALS for c in sound} | {"G", "S", "L", "N"})
    + sorted(set(_VOWEL_CLASS.values()))
)
_CLASS_ID = {c: k for k, c in enumerate(_CLASSES)}
_SWAPS = np.array([[_swap(a, b) for b in _CLASSES] for a in _CLASSES], dtype=np.float64)


@dataclass(frozen=True)
class _Names:
    """Corpus names whose skeletons are of about the same length, as arrays: each sound's class and its cost to
    leave out (padded to the longest), each skeleton's length and summed cost (added in order, as sum() adds)."""

    names: tuple[str, ...]
    skeletons: tuple[Skeleton, ...]
    classes: np.ndarray  # (names, sounds) class ids
    costs: np.ndarray  # (names, sounds)
    lengths: np.ndarray  # (names,)
    weights: np.ndarray  # (names,)

    def similarities(self, english: Skeleton) -> np.ndarray:
        """similarity(english, each name's skeleton): the same edit distance with the same additions in the same
        order (so the same numbers), all names at once, column by column; a column depends only on those before it,
        so a shorter name's distance is read at its own length, whatever its padding holds."""
        if len(self.names) < _AT_ONCE:  # a few names: one by one is faster than arrays
            return np.array([similarity(english, skeleton) for skeleton in self.skeletons])
        n, length = self.costs.shape
        previous = np.zeros((n, length + 1))
        for j in range(length):
            previous[:, j + 1] = previous[:, j] + self.costs[:, j]
        for a, cost_a in english:
            # Leaving out the English sound, or swapping it for the name's: neither depends on the row being filled.
            kept = np.minimum(previous[:, 1:] + cost_a, previous[:, :-1] + _SWAPS[_CLASS_ID[a]][self.classes])
            current = np.empty_like(previous)
            current[:, 0] = previous[:, 0] + cost_a
            for j in range(length):
                current[:, j + 1] = np.minimum(kept[:, j], current[:, j] + self.costs[:, j])
            previous = current
        heavier = np.maximum(sum(c for _, c in english), self.weights)
        found: np.ndarray = np.maximum(0.0, 1.0 - previous[np.arange(n), self.lengths] / heavier)
        return found


# Names compared at once below this many are compared one by one; skeletons are grouped by length in bands this wide.
_AT_ONCE = 24
_BAND = 6


def _grouped(names: list[str]) -> list[_Names]:
    """A lexicon key's names in bands of the length of their skeletons (those with no sounds left out: they sound
    like nothing)."""
    bands: dict[int, list[tuple[str, Skeleton]]] = {}
    for name in names:
        skeleton = chinese_skeleton(name)
        if skeleton:
            bands.setdefault((len(skeleton) - 1) // _BAND, []).append((name, skeleton))
    groups = []
    for members in bands.values():
        longest = max(len(skeleton) for _, skeleton in members)
        classes = np.zeros((len(members), longest), dtype=np.intp)
        costs = np.zeros((len(members), longest), dtype=np.float64)
        for k, (_, skeleton) in enumerate(members):
            classes[k, : len(skeleton)] = [_CLASS_ID[c] for c, _ in skeleton]
            costs[k, : len(skeleton)] = [cost for _, cost in skeleton]
        groups.append(
            _Names(
                tuple(name for name, _ in members),
                tuple(skeleton for _, skeleton in members),
                classes,
                costs,
                np.array([len(skeleton) for _, skeleton in members], dtype=np.intp),
                np.array([sum(c for _, c in skeleton) for _, skeleton in members], dtype=np.float64),
            )
        )
    return groups


@dataclass(frozen=True)
class _Key:
    """One lexicon key's names, arranged for matching, and the best of them for each English name asked so far
    (a question looks its names up for its search, its topic words and its unknown names)."""

    names: list[str]
    groups: list[_Names]
    matched: dict[str, tuple[tuple[float, int, str] | None]]  # each answer in a 1-tuple: None is an answer too

    def best(self, english: str, skeleton: Skeleton) -> tuple[float, int, str] | None:
        """The likeliest name as (similarity, length, name): the order best_match breaks ties by; None when none
        sounds like the English name at all."""
        kept = self.matched.get(english)  # one lookup: another thread may empty the table meanwhile
        if kept is not None:
            return kept[0]
        best: tuple[float, int, str] | None = None
        for group in self.groups:
            scores = group.similarities(skeleton)
            top = float(scores.max())
            if top <= 0 or (best is not None and top < best[0]):
                continue
            found = max((len(group.names[k]), group.names[k]) for k in np.flatnonzero(scores == top).tolist())
            best = max(best or (top, *found), (top, *found))
        if len(self.matched) >= _MATCHES_KEPT:
            self.matched.clear()
        self.matched[english] = (best,)
        return best


_MATCHES_KEPT = 1024
# Each lexicon key's names, by the identity of its list (kept with it, so that no id is reused while it is here): an
# index's lexicon lists are never changed in place; an index with a document added shares its unchanged keys' lists
# with the one before and makes new ones for the rest. A plain bound: emptied when full (about five indexes' keys).
_KEYS: dict[int, _Key] = {}
_KEYS_KEPT = 64
_KEYS_LOCK = threading.Lock()


def _key_of(names: list[str]) -> _Key:
    found = _KEYS.get(id(names))
    if found is not None and found.names is names:
        return found
    key = _Key(names, _grouped(names), {})
    with _KEYS_LOCK:
        if len(_KEYS) >= _KEYS_KEPT:
            _KEYS.clear()
        _KEYS[id(names)] = key
    return key


def warm_names(lexicon: dict[str, list[str]]) -> None:
    """Read every corpus name's pinyin and arrange the names for matching now (~0.2 s at 10,000 articles), not on the
    first English question that names someone the lexicon does not map."""
    for key, names in lexicon.items():
        if key.startswith(NAME_KEY):
            _key_of(names)


def best_match(english: str, lexicon: dict[str, list[str]]) -> tuple[str, float] | None:
    """The corpus name (from the lexicon's name keys) that sounds most like an English name, with its similarity
    (the longer name on a tie: 鲁比奥 over its part 鲁比); None when no name sounds like it.

    Each key's names are compared at once, in bands of skeleton length: at 10,000 articles a key holds ~500-1,000
    names, and one by one an English name took ~60 ms (a question with two unmapped names ~0.25-0.7 s)."""
    skeleton = english_skeleton(english)
    if not any(c.isupper() for c, _ in skeleton):
        return None  # no consonant: it sounds like no name (similarity 0)
    found = [
        best
        for key in query_keys(skeleton)
        if (names := lexicon.get(key)) and (best := _key_of(names).best(english, skeleton)) is not None
    ]
    if not found:
        return None
    likeness, _, name = max(found)
    return name, likeness
