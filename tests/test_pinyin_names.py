"""Chinese names an English question spells in pinyin (`Gu Zhenglun`), found in the corpus by sound: the syllables,
the search over the corpus's character pairs, and retrieval and the unknown-name check end to end."""

from __future__ import annotations

from pathlib import Path

from qa.answering.matching import SentenceStats
from qa.answering.question import Question
from qa.answering.unknown_names import unknown_names
from qa.indexing.build import build
from qa.indexing.index import Index
from qa.indexing.sources import Sources
from qa.retrieval.embedding import SentenceTransformerEmbedder
from qa.retrieval.retriever import Retriever
from qa.text.folding import fold
from qa.text.lexicon import MOST_SPELLED
from qa.text.pinyin_names import Pair, spellings, syllables

# A short article of our own: two Chinese names CC-CEDICT does not hold (翁素霖, 鎮淮樓), each in a paragraph among
# others about other things.
ARTICLE = """江南小城的冬天

今年冬天，城裡的老街因為連日降雪而冷清了許多，商家紛紛提早打烊，只有茶館還坐滿了下棋的老人。

在鎮淮樓前的廣場上，畫家翁素霖擺出了一幅長達十米的雪景長卷，吸引了不少遊客駐足拍照，
他說這幅畫花了整整兩年才完成。

另一方面，農民擔心寒潮會影響明年春天的播種，專家建議提前儲備種子和化肥。
"""


def _index(folder: Path, embedder: SentenceTransformerEmbedder, article: str) -> Index:
    """The index of one article of our own."""
    seeds = folder / "seeds"
    seeds.mkdir()
    (seeds / "article.txt").write_text(article, encoding="utf-8")
    return build(Sources(seeds, folder / "library"), embedder)


def test_a_word_splits_into_pinyin_syllables() -> None:
    assert ("weng", "su", "lin") in syllables("wengsulin")
    assert ("zhen", "huai", "lou") in syllables("zhenhuailou")
    assert syllables("okonkwo") == []  # not pinyin
    assert syllables("xuzhou") == []  # two syllables: too few to tell a name from any pair of characters ...
    assert ("xu", "zhou") in syllables("xuzhou", 2)  # ... but for a name of one word (Pair, below)


def test_a_name_is_spelt_by_characters_whose_pairs_the_corpus_holds() -> None:
    pairs = {"翁素", "素霖", "镇淮", "淮楼"}

    def holds(asked: list[str]) -> list[bool]:
        return [p in pairs for p in asked]

    assert spellings(["Weng", "Sulin"], holds) == ("翁素霖",)
    assert spellings(["Zhenhuailou"], holds) == ("镇淮楼",)
    assert spellings(["Wang", "Shouren"], holds) == ()  # no such pairs: no name


def test_a_name_of_two_syllables_is_looked_for_as_a_surname_and_a_given_name() -> None:
    pairs = {"李晨", "黎辰", "蔡敏", "西安"}

    def holds(asked: list[str]) -> list[bool]:
        return [p in pairs for p in asked]

    # 李 and 黎 are both among the hundred commonest surnames: both are read. 西安 is a name, but 西 is no surname.
    assert set(spellings(["Li", "Chen"], holds)) == {"李晨", "黎辰"} and spellings(["Cai", "Min"], holds) == ("蔡敏",)
    assert spellings(["Xi", "An"], holds) == ()
    assert spellings(["Xian"], holds) == ()  # one word of two syllables: as before, too few to tell


def test_an_english_question_finds_a_chinese_name_written_in_pinyin(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    index = _index(tmp_path, embedder, ARTICLE)
    assert "weng" not in index.lexicon and "sulin" not in index.lexicon
    retriever = Retriever(index, embedder)
    top = retriever.search(retriever.prepare("What did Weng Sulin paint?"), 1)[0]
    assert "翁素霖" in fold(top.chunk.text)
    stats = SentenceStats(index)
    # ... and the answerer does not take it for a name the article never mentions; a name it lacks still is.
    assert unknown_names(stats, Question.parse("What did the painter Weng Sulin show?"), index.lexicon) == []
    assert unknown_names(stats, Question.parse("What did the painter Okonkwo show?"), index.lexicon) == ["Okonkwo"]
    assert index.spellings(["Weng", "Sulin"]) == ("翁素霖",)  # kept for the question's other steps
    # A question is looked for in pinyin for its first MOST_SPELLED names only (each costs a search): past them, a
    # name is taken for one the article does not mention.
    many = "What did Okonkwo, Adebayo, Chukwu, Nnamdi and Weng Sulin show?"
    assert MOST_SPELLED == 4 and "Weng Sulin" in unknown_names(stats, Question.parse(many), index.lexicon)


def test_the_corpus_characters_only_narrow_the_search(tmp_path: Path, embedder: SentenceTransformerEmbedder) -> None:
    index = _index(tmp_path, embedder, ARTICLE)
    chars = index.pair_chars
    # Every character of every pair the corpus holds is among them (its title's, as a heading, too) ...
    pairs = [t[1:] for p in index.postings for t in p.vocab if t.startswith("#")]
    assert pairs and all(a in chars and b in chars for a, b in pairs)
    assert "江" in chars and "鎮" not in chars  # the title's (folded: 镇)
    # ... so leaving out every other character finds the same spellings, names found or not.
    names = [["Weng", "Sulin"], ["Zhenhuailou"], ["Wang", "Shouren"], ["Dong", "Tian", "Lao"], ["Cha", "Guan", "Ren"]]
    for words in names:
        assert spellings(words, index.holds_pairs, chars) == spellings(words, index.holds_pairs), words
    assert spellings(["Weng", "Sulin"], index.holds_pairs, chars) == ("翁素霖",)


# A name whose surname is an English word too (潘 Pan, 李 Li), in a paragraph of its own among others.
MERCHANT = """廣州的鹽商

清代廣州的鹽商潘仕成出資延請外國軍官研發水雷，又捐建書院，刊刻了大量古籍。

另一方面，城外的農民擔心寒潮會影響明年春天的播種，專家建議提前儲備種子和化肥。

港口的貨船因為海冰提前出現而改走南線，運費隨之上漲。
"""


def test_a_name_whose_surname_english_uses_too_is_read_in_pinyin_whole(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    index = _index(tmp_path, embedder, MERCHANT)
    retriever = Retriever(index, embedder)
    # `Pan` is an English word, and `Shicheng` alone is two syllables (too few to tell a name): read together.
    top = retriever.search(retriever.prepare("What did Pan Shicheng fund?"), 1)[0]
    assert "潘仕成" in fold(top.chunk.text)
    stats = SentenceStats(index)
    assert unknown_names(stats, Question.parse("What did Pan Shicheng fund?"), index.lexicon) == []
    # ... also as a question's first words; a question word or an English word before a name is no part of it.
    assert unknown_names(stats, Question.parse("Pan Shicheng funded what?"), index.lexicon) == []
    assert unknown_names(stats, Question.parse("Did Okonkwo fund the school?"), index.lexicon) == ["Okonkwo"]
    assert unknown_names(stats, Question.parse("Describe Okonkwo's school."), index.lexicon) == ["Okonkwo"]
    assert unknown_names(stats, Question.parse("Okonkwo funded what?"), index.lexicon) == []  # a first word alone


def test_a_name_of_one_word_and_two_syllables_is_the_likeliest_pair_the_corpus_holds() -> None:
    pairs = {"海南", "还难", "大理", "大利", "芙蓉", "夫荣"}
    counts = {"海南": 5, "还难": 1, "大理": 1, "大利": 4, "芙蓉": 6, "夫荣": 1}

    def holds(asked: list[str]) -> list[bool]:
        return [p in pairs for p in asked]

    pair = Pair(counts.__getitem__, names={"海南", "大理"})
    # The pair written most often (还难 of 还难以 is a chance pair); a name CC-CEDICT knows before one that is not
    # (大利 of 意大利 is written more often than 大理 here); one spelling only.
    assert spellings(["Hainan"], holds, pair=pair) == ("海南",)
    assert spellings(["Dali"], holds, pair=pair) == ("大理",)
    assert spellings(["Furong"], holds, pair=pair) == ("芙蓉",)
    assert spellings(["Furong"], holds) == ()  # without a way to weigh the pairs, none is taken
    assert spellings(["Okonkwo"], holds, pair=pair) == ()  # not pinyin


def test_a_name_the_dictionary_knows_in_english_is_spelt_only_as_one_of_its_names() -> None:
    pairs = {"能免", "海南", "还难"}

    def holds(asked: list[str]) -> list[bool]:
        return [p in pairs for p in asked]

    counts = {"能免": 3, "海南": 1, "还难": 5}
    # `Taiwan` reads `tai wan`, as 能免 of 不能免除 does (能 may be read tai, 免 wan): the dictionary knows Taiwan as
    # 台湾, which this corpus does not write, so it spells Taiwan nowhere. Without the dictionary's English it is 能免.
    knows = Pair(counts.__getitem__, names={"台湾", "海南"}, english={"taiwan", "hainan"})
    assert spellings(["Taiwan"], holds, pair=knows) == ()
    assert spellings(["Taiwan"], holds, pair=Pair(counts.__getitem__, names={"台湾", "海南"})) == ("能免",)
    # A name it knows is still found as one of its names, before a pair written more often (还难 of 还难以).
    assert spellings(["Hainan"], holds, pair=knows) == ("海南",)


# A cave whose name is written in pinyin by English (芙蓉洞, Furong Cave), beside a paragraph about a writer whose
# name sounds a little like it (伊夫林, Evelyn: yi-fu-lin).
CAVE = """山中的溶洞

芙蓉洞於1993年被發現，1994年對遊人開放，洞內的鐘乳石和石筍形態各異，每年吸引數十萬遊客。

英國作家伊夫林在倫敦出版了她的第一部小說，書中描寫了一個沒落貴族家庭的故事。

當地政府計劃在溶洞附近修建新的公路，以方便遊客前往。
"""


def test_a_place_english_writes_in_pinyin_is_read_so_before_any_name_that_sounds_like_it(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    index = _index(tmp_path, embedder, CAVE)
    retriever = Retriever(index, embedder)
    # `Furong` is one word of two syllables: 芙蓉, which the corpus writes, not 伊夫林, which sounds a little like it.
    for question in ("When did Furong Cave open to visitors?", "What is Furong Cave known for?"):
        top = retriever.search(retriever.prepare(question), 1)[0]
        assert "芙蓉洞" in fold(top.chunk.text), question
    stats = SentenceStats(index)
    assert unknown_names(stats, Question.parse("What is Furong Cave known for?"), index.lexicon) == []


# A ferry article that writes 不能免除 (能 may be read tai, 免 wan: `tai wan`) and never 台灣.
FERRY = """港口的渡輪

渡輪公司表示，即使票價上漲，乘客也不能免除上船前的安全檢查。

今年夏天，往返離島的渡輪增開了夜班，每晚九點從北碼頭出發。
"""


def test_a_place_the_dictionary_knows_is_not_read_as_the_pinyin_of_other_characters(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    index = _index(tmp_path, embedder, FERRY)
    stats = SentenceStats(index)
    # CC-CEDICT knows Taiwan as 台湾, which the article never writes: a question about it names something the
    # article does not mention, not the 能免 of 不能免除 (before, it was read so, and answered from that sentence).
    assert index.spellings(["Taiwan"]) == ()
    asked = Question.parse("What do ferry passengers from Taiwan pay?")
    assert unknown_names(stats, asked, index.lexicon) == ["Taiwan"]
