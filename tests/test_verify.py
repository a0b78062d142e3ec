"""Verification of an LLM's reply against numbered sources."""

from qa.llm.prompts import SENTINEL
from qa.llm.verify import split_claims, verify
from qa.text.sentences import sentence_spans
from qa.types import Sentence

TEXT = "北約賭俄羅斯不會真的用核武。歐盟通過第19輪對俄制裁方案。英國將提供5,000枚導彈。"
CHUNKS = ["doc:c000", "doc:c000", "doc:c001"]
SOURCES = [
    Sentence(f"s{k}", "doc", chunk, start, end, TEXT[start:end])
    for k, ((start, end), chunk) in enumerate(zip(sentence_spans(TEXT), CHUNKS, strict=True), 1)
]
LEXICON = {"sanction": ["制裁"], "eu": ["欧盟"], "nato": ["北约"], "nuclear": ["核武"]}


def test_the_sources_are_the_texts_three_sentences() -> None:
    # The offsets the tests below expect are the sentence splitter's.
    assert [(s.start, s.end) for s in SOURCES] == [(0, 14), (14, 29), (29, 43)]
    assert all(s.text.endswith("。") for s in SOURCES)


def test_a_valid_cited_answer_passes_with_exact_quotes() -> None:
    result = verify("北約在賭俄羅斯不會用核武[1]。歐盟通過了第19輪制裁[2]。", SOURCES, "zh-Hant", LEXICON)
    assert result is not None and not result.abstained
    assert result.text == "北約在賭俄羅斯不會用核武[1]。歐盟通過了第19輪制裁[2]。"
    assert [(c.n, c.quote, c.start, c.end) for c in result.citations] == [
        (1, SOURCES[0].text, 0, 14),
        (2, SOURCES[1].text, 14, 29),
    ]


def test_citations_are_renumbered_in_order_of_use() -> None:
    result = verify("英國將提供5000枚導彈[3]。北約賭俄羅斯不用核武[1]。", SOURCES, "zh-Hant", LEXICON)
    assert result is not None
    assert [c.quote for c in result.citations] == [SOURCES[2].text, SOURCES[0].text]
    assert result.text == "英國將提供5000枚導彈[1]。北約賭俄羅斯不用核武[2]。"


def test_an_invented_source_number_is_dropped() -> None:
    result = verify("北約賭俄羅斯不會用核武[1][9]。", SOURCES, "zh-Hant", LEXICON)
    assert result is not None
    assert result.dropped_markers == 1
    assert "[9]" not in result.text and len(result.citations) == 1


def test_a_real_source_that_does_not_back_the_claim_is_dropped() -> None:
    result = verify("歐盟通過第19輪對俄制裁方案[2][3]。", SOURCES, "zh-Hant", LEXICON)
    assert result is not None
    assert result.text == "歐盟通過第19輪對俄制裁方案[1]。" and result.dropped_markers == 1
    assert [c.quote for c in result.citations] == [SOURCES[1].text]


def test_uncited_and_unsupported_sentences_are_removed() -> None:
    reply = "北約賭俄羅斯不會用核武[1]。戰爭已在2024年結束。英國將提供9,999枚導彈[3]。普京很高興[2]。"
    result = verify(reply, SOURCES, "zh-Hant", LEXICON)
    assert result is not None
    assert result.text == "北約賭俄羅斯不會用核武[1]。"
    assert result.removed_sentences == 3  # uncited; a number the source lacks; a claim the source does not make


def test_nothing_cited_means_nothing_survives() -> None:
    assert verify("戰爭在2024年結束了。", SOURCES, "zh-Hant", LEXICON) is None
    assert verify("[9] 北約解散了。", SOURCES, "zh-Hant", LEXICON) is None
    assert verify("", SOURCES, "zh-Hant", LEXICON) is None


def test_the_sentinel_abstains() -> None:
    result = verify(f"  {SENTINEL}\n", SOURCES, "zh-Hant", LEXICON)
    assert result is not None and result.abstained and not result.citations


def test_english_claims_are_checked_through_the_lexicon() -> None:
    result = verify("The EU adopted a 19th sanctions package [2]. NATO is dissolved [2].", SOURCES, "en", LEXICON)
    assert result is not None
    assert result.text == "The EU adopted a 19th sanctions package [1]."


def test_script_follows_the_question() -> None:
    result = verify("欧盟通过第19轮对俄制裁方案[2]。", SOURCES, "zh-Hant", LEXICON)
    assert result is not None and result.text.startswith("歐盟通過")
    result = verify("歐盟通過第19輪對俄制裁方案[2]。", SOURCES, "zh-Hans", LEXICON)
    assert result is not None and result.text.startswith("欧盟通过")


def test_markers_after_the_full_stop_belong_to_the_sentence_before() -> None:
    assert split_claims("甲。[1] 乙！［2］丙") == ["甲。[1]", "乙！［2］", "丙"]


GRIPEN = "同時，烏克蘭宣布與瑞典簽署意向書，以購買100至150架鷹獅E型戰鬥機。"
GRIPEN_SOURCE = [Sentence("g1", "doc", "doc:c000", 0, len(GRIPEN), GRIPEN)]


def test_a_claim_that_turns_its_source_around_or_adds_to_it_is_not_supported() -> None:
    """Each passed with a third of its character pairs in the source (and its number there): a refusal, a denial,
    and a phrase of its own about who pays or what followed."""
    for invented in (
        "瑞典拒絕向烏克蘭出售鷹獅E型戰鬥機[1]。",
        "烏克蘭宣布不會購買任何鷹獅E型戰鬥機[1]。",
        "烏克蘭將購買100至150架鷹獅E型戰鬥機，並由中國全額出資[1]。",
        "烏克蘭購買鷹獅E型戰鬥機[1]，普京因此宣布辭職。",
    ):
        assert verify(invented, GRIPEN_SOURCE, "zh-Hant", LEXICON) is None, invented
    faithful = verify("烏克蘭與瑞典簽署意向書，購買100至150架鷹獅E型戰鬥機[1]。", GRIPEN_SOURCE, "zh-Hant", LEXICON)
    assert faithful is not None and faithful.citations[0].quote == GRIPEN
    framed = verify("根據文章指出，烏克蘭將購買100至150架鷹獅E型戰鬥機[1]。", GRIPEN_SOURCE, "zh-Hant", LEXICON)
    assert framed is not None  # the words an answer frames a claim with are no claim of their own
    kept = verify("北約賭俄羅斯不會用核武[1]。", SOURCES, "zh-Hant", LEXICON)  # the source says 不會 too
    assert kept is not None


def test_an_answer_in_another_language_than_the_question_is_not_taken() -> None:
    english = "Ukraine signed a letter of intent with Sweden to buy 100 to 150 Gripen E fighter jets [1]."
    russian = "Украина купит от 100 до 150 истребителей Gripen [1]."
    lexicon = {**LEXICON, "ukrain": ["乌克兰"], "sweden": ["瑞典"], "gripen": ["鹰狮"], "fighter": ["战斗机"]}
    for answer, lang in ((english, "zh-Hant"), (russian, "zh-Hant"), (russian, "en"), (GRIPEN + "[1]", "en")):
        assert verify(answer, GRIPEN_SOURCE, lang, lexicon) is None, (answer, lang)
    assert verify(english, GRIPEN_SOURCE, "en", lexicon) is not None
