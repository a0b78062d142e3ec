"""English names matched to Chinese transliterations by pinyin: the similarity, and retrieval end to end."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from qa.answering.matching import SentenceStats
from qa.answering.question import Question
from qa.answering.unknown_names import unknown_names
from qa.indexing.build import build
from qa.indexing.index import Index
from qa.indexing.sources import Sources
from qa.retrieval.embedding import SentenceTransformerEmbedder
from qa.retrieval.retriever import Retriever
from qa.text.folding import fold
from qa.text.lexicon import LONGEST_NAME, MOST_HEARD, transliterations
from qa.text.transliteration import (
    THRESHOLD,
    TRANSLITERATION_CHARS,
    best_match,
    chinese_skeleton,
    english_skeleton,
    name_key,
    query_keys,
    similarity,
)


def _likeness(english: str, chinese: str) -> float:
    return similarity(english_skeleton(english), chinese_skeleton(chinese))


@pytest.mark.parametrize(
    ("english", "chinese"),
    [
        ("Zelensky", "澤連斯基"),
        ("Budapest", "布達佩斯"),
        ("Kharkiv", "哈尔科夫"),
        ("Tartu", "塔尔图"),
        ("Obama", "奥巴马"),
    ],
)
def test_a_name_sounds_like_its_transliteration(english: str, chinese: str) -> None:
    assert _likeness(english, chinese) >= THRESHOLD


@pytest.mark.parametrize(
    ("english", "chinese"),
    [("Johnson", "哈马斯"), ("Budapest", "哈马斯"), ("Zelensky", "马克龙"), ("Tartu", "布鲁塞尔"), ("Obama", "欧盟")],
)
def test_a_name_does_not_sound_like_another(english: str, chinese: str) -> None:
    assert _likeness(english, chinese) < THRESHOLD


def test_a_syllable_sounds_its_vowel_after_a_medial_glide() -> None:
    # 加 jia writes `ga`, 连 lian `len`, 果 guo `go`: the vowel is the final's after its i or u, not the glide.
    assert [c for c, _ in chinese_skeleton("加")] == ["J", "a"]
    assert [c for c, _ in chinese_skeleton("连")] == ["L", "a", "N"]
    assert [c for c, _ in chinese_skeleton("果")] == ["G", "o"]
    assert [c for c, _ in chinese_skeleton("西")] == ["S", "i"]  # a lone i is the vowel itself
    # Kaluga's 卡卢加 (ka lu jia) was 0.778, under the threshold, when 加 sounded as `ji`.
    assert _likeness("Kaluga", "卡卢加") >= THRESHOLD


def test_a_transliteration_beats_its_neighbours() -> None:
    pool = ["卡利諾夫斯卡", "卡拉斯", "加利福尼亚", "斯塔默"]
    assert max(pool, key=lambda c: _likeness("Kalinowska", c)) == "卡利諾夫斯卡"


# A short article of our own: two names CC-CEDICT does not hold (卡利諾夫斯卡 Kalinowska, 瓦爾米耶拉 Valmiera),
# each in its own paragraph among others about other things.
ARTICLE = """波羅的海港口的冬季航運

今年冬天，波羅的海北部的港口因為海冰提前出現，航運公司不得不調整班期，部分貨輪改走南線，運費隨之上漲。
港口管理部門表示，破冰船的數量有限，只能優先保障能源和糧食運輸，其他貨物可能要延後一到兩周。

在瓦爾米耶拉舉行的地方議會上，議員卡利諾夫斯卡宣布將撥款修建一座新的兒童醫院，預計三年內完工，
並承諾醫院將優先招聘本地的醫生和護士，以減少年輕人外流。

另一方面，農業部門擔心寒潮會影響明年春天的播種。專家建議農民提前儲備種子和化肥，
同時關注氣象部門發布的預報，避免在土壤解凍之前下地耕作。

經濟學家指出，能源價格的波動仍是今年冬天最大的不確定因素，家庭取暖費用可能比去年高出兩成，
政府正在研究是否發放臨時補貼。
"""


def _baltic_index(folder: Path, embedder: SentenceTransformerEmbedder) -> Index:
    seeds = folder / "seeds"
    seeds.mkdir()
    (seeds / "baltic-winter.txt").write_text(ARTICLE, encoding="utf-8")
    return build(Sources(seeds, folder / "library"), embedder)


def test_an_english_question_finds_the_passage_that_names_its_people_in_chinese(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    index = _baltic_index(tmp_path, embedder)
    assert "kalinowska" not in index.lexicon  # not from CC-CEDICT, a bracketed name or the glossary
    retriever = Retriever(index, embedder)
    query = retriever.prepare("What did Kalinowska announce in Valmiera?")
    top = retriever.search(query, 1)[0]
    assert "卡利诺夫斯卡" in fold(top.chunk.text)
    # ... and the answerer does not take the name for one the article never mentions (it would abstain).
    stats = SentenceStats(index)
    assert unknown_names(stats, Question.parse("What did Kalinowska announce?"), index.lexicon) == []
    assert unknown_names(stats, Question.parse("What did Okonkwo announce?"), index.lexicon) == ["Okonkwo"]
    # A Roman numeral names nothing by itself (World War II opening a question leaves `War II`); a name beside one does.
    assert unknown_names(stats, Question.parse("War II changed what in Valmiera?"), index.lexicon) == []
    assert unknown_names(stats, Question.parse("What did Okonkwo II announce?"), index.lexicon) == ["Okonkwo II"]


def test_a_question_of_many_unknown_names_is_matched_by_sound_for_a_bounded_number(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    lexicon = _baltic_index(tmp_path, embedder).lexicon
    made_up = [f"Zq{'x' * k}" for k in range(1, MOST_HEARD + 1)]  # capitalised, never a corpus name
    assert transliterations("What did Kalinowska announce?", lexicon)
    # Within the bound the name is still heard; past it (a question of hundreds of made-up names) it is not looked
    # up at all: the cost of a question no longer grows with the names it holds.
    assert transliterations(" ".join([*made_up[:-1], "Kalinowska"]), lexicon)
    assert not transliterations(" ".join([*made_up, "Kalinowska"]), lexicon)
    # A word too long to be a name is not looked up at all (nor counted): its edit distance grows with its length.
    too_long = [f"Zq{'x' * (LONGEST_NAME - 2 + k)}" for k in range(1, MOST_HEARD + 1)]
    assert transliterations(" ".join([*too_long, "Kalinowska"]), lexicon)


def test_a_language_named_in_a_question_is_not_a_name_the_article_lacks(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    index = _baltic_index(tmp_path, embedder)
    stats = SentenceStats(index)
    # CC-CEDICT glosses 英文 `English (language)`: capitalised, but the name of a language, not of a subject.
    assert unknown_names(stats, Question.parse("瓦爾米耶拉的英文怎麼寫？"), index.lexicon) == []
    assert unknown_names(stats, Question.parse("這份報告用中文還是法文寫的？"), index.lexicon) == []
    # ... while people and places the article never mentions still are.
    assert unknown_names(stats, Question.parse("梅德韋傑夫宣布了什麼？"), index.lexicon) == ["梅德韦杰夫"]
    assert unknown_names(stats, Question.parse("議員在巴黎宣布了什麼？"), index.lexicon) == ["巴黎"]


def _one_by_one(english: str, lexicon: dict[str, list[str]]) -> tuple[str, float] | None:
    """best_match as its docstring defines it: every candidate name's similarity, one at a time."""
    skeleton = english_skeleton(english)
    names = {n for key in query_keys(skeleton) for n in lexicon.get(key, ())}
    scored = [(similarity(skeleton, chinese_skeleton(n)), n) for n in names]
    best = max(scored, default=None, key=lambda s: (s[0], len(s[1]), s[1]))
    return (best[1], best[0]) if best and best[0] > 0 else None


def _made_up_names(count: int, seed: int) -> list[str]:
    """Transliteration-like names of 2 to 7 characters, as an archive's lexicon holds thousands of."""
    rng = random.Random(seed)
    return sorted({"".join(rng.choices(TRANSLITERATION_CHARS, k=rng.randint(2, 7))) for _ in range(count)})


def test_english_names_are_matched_against_many_names_at_once_as_one_by_one() -> None:
    # Hundreds of names under each key (compared as arrays) and a key of a few (compared one by one); English names
    # of every length, real and made up, including ones that sound like nothing.
    names = _made_up_names(3000, seed=5)
    lexicon: dict[str, list[str]] = {}
    for name in [*names, "泽连斯基", "布达佩斯", "马克龙"]:
        lexicon.setdefault(name_key(chinese_skeleton(name)), []).append(name)
    lexicon["~H"] = lexicon.get("~H", [])[:5]
    rng = random.Random(6)
    made_up = {"".join(rng.choices("bcdfghklmnprstvzaeiouy", k=rng.randint(3, 11))).capitalize() for _ in range(60)}
    english = sorted(made_up | {"Zelensky", "Budapest", "Macron", "Hanoi", "Schwarzenegger", "Aeo", "Xi"})
    for word in english:
        assert best_match(word, lexicon) == _one_by_one(word, lexicon), word
    assert best_match("Zelensky", lexicon) == ("泽连斯基", _one_by_one("Zelensky", lexicon)[1])  # type: ignore[index]


def test_a_new_lexicon_is_matched_afresh() -> None:
    # A match is remembered for the lexicon's lists it was found in: an index with the name added (new lists) finds it.
    before = {"~S": ["斯塔默"]}
    best_match("Zelensky", before)  # remembered for the old lists (it cannot find a name they do not hold)
    after = {"~S": ["斯塔默", "泽连斯基"]}
    assert best_match("Zelensky", after)[0] == "泽连斯基"  # type: ignore[index]
