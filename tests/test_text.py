from qa import text
from qa.lexicon import build_lexicon, english_groups, expand


def test_fold_joins_scripts_width_and_name_variants() -> None:
    assert text.fold("川普與普丁") == text.fold("特朗普与普京")
    assert text.fold("澤倫斯基") == text.fold("泽连斯基")
    assert text.fold("哈瑪斯") == text.fold("哈馬斯")
    assert text.fold("５，０００枚") == text.fold("5,000枚") == "5000枚"
    assert text.fold("NATO") == "nato"


def test_alias_variants_are_never_part_of_their_canonical_form() -> None:
    # A variant inside its canonical name would be replaced within the name itself (伊斯坎德 -> 伊斯坎德爾爾).
    for variant, canonical in text._aliases():
        assert variant not in canonical, (variant, canonical)


def test_detect_lang() -> None:
    assert text.detect_lang("習特會是哪一天結束的？") == "zh-Hant"
    assert text.detect_lang("特朗普第二任期要面对哪两场战争？") == "zh-Hans"
    assert text.detect_lang("When did the summit end?") == "en"
    assert text.detect_lang("北約到底在賭什麼？") == "zh-Hant"


def test_sentence_spans_split_at_chinese_ends_and_keep_closing_marks() -> None:
    sample = "他說：「停火了。」然後呢？好！最後一句"
    spans = list(text.sentence_spans(sample))
    assert [sample[s:e] for s, e in spans] == ["他說：「停火了。」", "然後呢？", "好！", "最後一句"]


def test_tokens_carry_words_and_bigrams_and_drop_stopwords() -> None:
    tokens = text.tokens("俄羅斯的核威脅是什麼？", drop_stopwords=True)
    assert "俄罗斯" in tokens
    assert "#核威" in tokens
    assert "的" not in tokens and "什么" not in tokens
    assert text.tokens("Sanctions were imposed") == ["sanction", "were", "impos"]


def test_english_terms_keep_acronyms() -> None:
    assert text.english_terms("What did the US say?") == ["us"]


def test_lexicon_maps_english_to_corpus_chinese(article: str) -> None:
    lexicon = build_lexicon([article])
    assert "停火" in lexicon["ceasefir"]
    assert "特朗普" in lexicon["trump"]  # from 特朗普（Donald Trump，又譯川普）
    assert lexicon["septemb"] == ["9月"]
    assert "制裁" in expand("Which sanctions?", lexicon)
    # Every Chinese term in the lexicon occurs in the corpus.
    folded = text.fold(article)
    months = {f"{n}月" for n in range(1, 13)}
    assert all(term in folded or term in months for terms in lexicon.values() for term in terms)
    groups = dict(english_groups("the game of chicken in 2025", lexicon))
    assert "game_chicken" in groups and "2025" in groups
