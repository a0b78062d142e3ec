import re

import jieba
import pytest

from qa.indexing.lexicon import _keys, build_lexicon
from qa.text import folding
from qa.text.folding import _fold, as_written, fold
from qa.text.language import detect_lang
from qa.text.lexicon import english_groups
from qa.text.sentences import sentence_spans
from qa.text.tokens import ROOT_KEY, _cut, american, base_stems, english_terms, root, tokens


def test_fold_joins_scripts_width_and_name_variants() -> None:
    assert fold("川普與普丁") == fold("特朗普与普京")
    assert fold("澤倫斯基") == fold("泽连斯基")
    assert fold("哈瑪斯") == fold("哈馬斯")
    assert fold("５，０００枚") == fold("5,000枚") == "5000枚"
    assert fold("NATO") == "nato"


def test_a_word_folds_the_same_in_either_script_and_in_either_regions_words(article: str) -> None:
    # Taiwan's word typed in Traditional, the same word typed in Simplified, and the mainland's word.
    for traditional, simplified, mainland in [
        ("計程車", "计程车", "出租车"),
        ("索馬利亞", "索马利亚", "索马里"),
        ("軟體", "软体", "软件"),
        ("資訊", "资讯", "信息"),
    ]:
        assert fold(traditional) == fold(simplified) == fold(mainland), traditional
    assert fold("港口簡報第3號") == fold("港口简报第3号")
    # Every line of the article folds as it would typed in Simplified characters (a zh-Hans reader's question).
    for line in article.splitlines():
        assert fold(line) == fold(folding.to_simplified(line)), line


def test_the_words_that_give_another_name_fold_to_one() -> None:
    # 又名, 又稱, 俗稱, 也叫 and 別稱 give another name for a thing alike; each keeps its length (offsets hold).
    for cue in ("又名", "又稱", "也稱為", "亦稱", "俗稱", "通稱", "或稱", "又叫做", "也叫", "又譯", "別稱", "别名"):
        assert fold(f"渡輪{cue}小白船") == fold(f"渡輪別名{cue[2:]}小白船"), cue
        assert len(fold(f"渡輪{cue}小白船")) == len(f"渡輪{cue}小白船")
    # ... but not where the same characters say something else.
    for other in ("他也稱讚了船員", "該港又稱霸一方", "他又名列前茅", "汽笛又叫了一聲"):
        assert "别名" not in fold(other), other


def test_alias_variants_are_never_part_of_their_canonical_form() -> None:
    # A variant inside its canonical name would be replaced within the name itself (伊斯坎德 -> 伊斯坎德爾爾).
    for variant, canonical in folding._aliases():
        assert variant not in canonical, (variant, canonical)


def test_detect_lang() -> None:
    assert detect_lang("釜山會晤是在哪一天舉行的？") == "zh-Hant"
    assert detect_lang("特朗普要面对哪些停火难题？") == "zh-Hans"
    assert detect_lang("When did the summit end?") == "en"
    assert detect_lang("這篇文章說北約在擔心什麼？") == "zh-Hant"


def test_sentence_spans_split_at_chinese_ends_and_keep_closing_marks() -> None:
    sample = "他說：「停火了。」然後呢？好！最後一句"
    spans = list(sentence_spans(sample))
    assert [sample[s:e] for s, e in spans] == ["他說：「停火了。」", "然後呢？", "好！", "最後一句"]


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        (
            'The mayor resigned on Monday. Dr. Smith, citing U.S. law, disagreed. The vote is on Jan. 5. "We won." '
            "Prices rose 5%. It cost 1.5 million.",
            [
                "The mayor resigned on Monday.",
                "Dr. Smith, citing U.S. law, disagreed.",
                "The vote is on Jan. 5.",
                '"We won."',
                "Prices rose 5%.",
                "It cost 1.5 million.",
            ],
        ),
        # Initials and abbreviations in Chinese text (DRCD, CMRC 2018) end nothing: not one of their 1,256
        # paragraphs is cut otherwise than before English sentences were.
        (
            "2002年以企業家Daniel J. Epstein為名。前称H. F. Verwoerd机场。",
            ["2002年以企業家Daniel J. Epstein為名。", "前称H. F. Verwoerd机场。"],
        ),
        (
            "摆著（St. John of Matha）及St. Felix of Valois的雕像。",
            ["摆著（St. John of Matha）及St. Felix of Valois的雕像。"],
        ),
    ],
)
def test_english_sentences_end_at_a_full_stop_but_abbreviations_do_not(sample: str, expected: list[str]) -> None:
    """An English article's citation was a whole paragraph: only 。！？!?；; ended a sentence."""
    assert [sample[s:e] for s, e in sentence_spans(sample)] == expected


def test_tokens_carry_words_and_bigrams_and_drop_stopwords() -> None:
    found = tokens("俄羅斯的核威脅是什麼？", drop_stopwords=True)
    assert "俄罗斯" in found
    assert "#核威" in found
    assert "的" not in found and "什么" not in found
    assert tokens("Sanctions were imposed") == ["sanction", "were", "impos"]


def test_english_terms_keep_acronyms() -> None:
    assert english_terms("What did the US say?") == ["us"]


def test_lexicon_maps_english_to_corpus_chinese(article: str) -> None:
    lexicon = build_lexicon([article])
    assert "停火" in lexicon["ceasefir"]
    assert "特朗普" in lexicon["trump"]  # from 特朗普（Donald Trump，又譯川普）
    assert lexicon["septemb"] == ["9月"]
    assert ("sanction", ["制裁"]) in english_groups("Which sanctions?", lexicon)
    # Every Chinese term in the lexicon occurs in the corpus.
    folded = fold(article)
    months = {f"{n}月" for n in range(1, 13)}
    assert all(term in folded or term in months for terms in lexicon.values() for term in terms)
    groups = dict(english_groups("the game of chicken in 2025", lexicon))
    assert "game_chicken" in groups and "2025" in groups


def test_an_irregular_form_finds_what_its_dictionary_form_is_glossed_with() -> None:
    lexicon = build_lexicon(["港務局週二在港口大樓舉行記者會，碼頭工人隨後凍結了加班。"])
    assert "举行" in lexicon["hold"] and "冻结" in lexicon["freez"]
    question = "Where was the press conference held, and what was frozen?"
    assert base_stems(question) == {"held": "hold", "frozen": "freez"}
    groups = dict(english_groups(question, lexicon))
    assert "举行" in groups["held"] and "冻结" in groups["frozen"]
    # A regular form stems to its dictionary form's stem already; acronyms and stopwords are left alone.
    assert base_stems("the cities escalated talks at the US embassy; it was said") == {}


def test_a_word_no_gloss_says_alone_or_in_its_own_form_is_found_by_the_glosses_that_hold_it() -> None:
    lexicon = build_lexicon(["俄羅斯揚言動用核武器，並威脅西方。"])
    # No gloss of a corpus word says `nuclear` alone: 核武器 `nuclear weapon` does, with another word.
    assert "核武器" in lexicon["nuclear"]
    # 威胁 is glossed `to threaten`, 扬言 `to threaten (to do something)`: a question that asks of threats finds them by
    # their root; a word that has words of its own is not widened so.
    assert "threat" not in lexicon and {"威胁", "扬言"} <= set(lexicon[ROOT_KEY + root("threaten")])
    groups = dict(english_groups("Did Russia's nuclear threats work?", lexicon))
    assert "核武器" in groups["nuclear"] and "威胁" in groups["threat"] and groups["russia"] == ["俄罗斯"]
    assert root("threaten") == root("threat") == "threat" and root("government") == "govern"
    assert root("restor") == "restor" and root("sanction") == "sanction"  # no ending a word derives by


def test_a_name_the_dictionary_gives_two_ways_is_found_either_way() -> None:
    # CC-CEDICT: 彰化 `Zhanghua or Changhua city and county in west Taiwan`, 共产国际 `Communist International or
    # Comintern (1919-1943)`: a sense too long to be a gloss, that opens with a name given in two spellings.
    lexicon = build_lexicon(["彰化市的市長任期為四年。共產國際協助建立了這所學校。"])
    assert "彰化" in lexicon["changhua"] and "彰化" in lexicon["zhanghua"]
    assert lexicon["comintern"] == ["共产国际"] and "共产国际" in lexicon["communist_internat"]
    assert "city" not in lexicon and "taiwan" not in lexicon  # the rest of the sense describes, it does not gloss


def test_a_word_with_too_many_glossed_words_keeps_those_it_translates_plainly() -> None:
    text = "中國東北、華北、西北、華東、華南與中華民國時期的關東軍，中日之間，中華文化，中國通。"
    lexicon = build_lexicon([text])
    # Ten and more corpus words hold `China` in a gloss (东北 `Northeast China`, 中日 `China-Japan`); the ones glossed
    # `China` alone stand for it, where before the word stood for none.
    assert lexicon["china"] == ["中华", "中国"]


def test_british_spellings_find_the_american_ones_the_dictionary_glosses_with() -> None:
    assert [american(w) for w in ("metre", "colour", "defence", "organised", "travelled")] == [
        "meter",
        "color",
        "defense",
        "organized",
        "traveled",
    ]
    assert [american(w) for w in ("promise", "surprise", "hour", "fire", "fence")] == [
        "promise",
        "surprise",
        "hour",
        "fire",
        "fence",
    ]
    assert base_stems("How many metres high is the centre?") == {"metr": "meter", "centr": "center"}


def test_a_gloss_keys_its_word_unless_its_other_words_make_an_idiom_of_it() -> None:
    assert _keys("satellite") == ["satellit"]
    assert _keys("to look for") == ["look"] and _keys("to be born") == ["born"] and _keys("one of") == ["one"]
    # 至今 `to this day` says nothing of a day, 只要 `so long as` nothing of length, 多次 `many times` nothing of time.
    assert _keys("to this day") == [] and _keys("so long as") == [] and _keys("many times") == []
    assert _keys("United States") == ["unit_state", "unit", "state"]  # a name keys its words too
    # Two words make a phrase when little else is said with them, and nothing turns them around.
    assert _keys("nuclear weapon") == ["nuclear_weapon"] and _keys("arteries and veins") == ["arteri_vein"]
    assert _keys("to go on an inspection tour") == ["inspect_tour"]
    assert _keys("the people have no way to make a living") == [] and _keys("not long before") == []


def test_remembered_folds_and_cuts_are_those_made_afresh(article: str) -> None:
    """fold() remembers short texts and the tokenisers remember short runs' words: asked again, or past the length
    that is remembered, each gives what folding and cutting afresh gives."""
    texts = [article[i : i + n] for n in (5, 40, 199, 200, 201, 900) for i in range(0, len(article) - n, 397)]
    texts += ["", "ＡＢＣ 1,000 臺灣", "Ukraine's 100至150架", "普京說"]
    for text in texts * 2:
        assert fold(text) == _fold(text), text
    runs = [r for t in texts for r in re.findall("[\u4e00-\u9fff]+", _fold(t))]
    runs += ["中" * 64, "中" * 65, "烏克蘭" * 30]
    for run in runs * 2:
        assert _cut(run) == tuple(w for w in jieba.lcut(run, HMM=False) if w.strip()), run


def test_a_folded_word_is_found_as_the_text_writes_it() -> None:
    assert as_written("北韩", "特朗普什麼時候訪問了北韓？") == "北韓"
    assert as_written("北韩", "特朗普什么时候访问了北韩？") == "北韩"
    assert as_written("nato", "Ｎａｔｏ與北約") == "Ｎａｔｏ"  # width and case folded
    assert as_written("2012年7月", "在2012年7月時") == "2012年7月"
    assert as_written("莫迪", "北約有什麼看法？") == "莫迪"  # not in the text: the word itself
