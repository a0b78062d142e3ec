"""Short answers: the value or name a typed question asks for, as an exact span of a cited sentence."""

from __future__ import annotations

import httpx

from qa.answering.evidence import Evidence
from qa.answering.question import Question
from qa.answering.short import default_scorer, short_answer
from qa.answering.span_features import FEATURES, candidates
from qa.answering.spans import cited_spans, flat, kind_of
from qa.config import Settings
from qa.server.state import Pipeline
from qa.text.folding import fold
from qa.types import Citation
from qa.wiring import build_app
from tests.support import serve

# Self-written: a document whose second sentence carries a date, an amount and a name.
DOC = (
    "港口新聞。\n新碼頭於2019年5月12日啟用，造價約35億元，由陳大文主持開幕。碼頭每年可處理300萬個貨櫃。"
    "港務局將添購20至30艘拖船。新碼頭全長1122米，寬約50米。"
)


def cite(quote: str, n: int = 1) -> Citation:
    start = DOC.index(quote)
    return Citation(n=n, doc="port", chunk_id="port-0", quote=quote, start=start, end=start + len(quote))


SENTENCE = cite("新碼頭於2019年5月12日啟用，造价約35億元，由陳大文主持開幕。".replace("价", "價"))
BOXES = cite("碼頭每年可處理300萬個貨櫃。", n=2)
TUGS = cite("港務局將添購20至30艘拖船。", n=3)
LENGTH = cite("新碼頭全長1122米，寬約50米。", n=4)


def test_a_date_question_gets_the_date_as_a_span_of_the_document() -> None:
    short = short_answer(Question.parse("新碼頭於哪一天啟用？"), [SENTENCE, BOXES])
    assert short is not None and short.doc == "port"
    assert DOC[short.start : short.end] == short.text == "2019年5月12日"


def test_a_year_question_gets_the_year_only() -> None:
    short = short_answer(Question.parse("新碼頭於哪一年啟用？"), [SENTENCE], threshold=0.0)
    assert short is not None and DOC[short.start : short.end] == short.text == "2019年"


def test_a_month_question_gets_the_month_only() -> None:
    short = short_answer(Question.parse("新碼頭於哪個月啟用？"), [SENTENCE], threshold=0.0)
    assert short is not None and DOC[short.start : short.end] == short.text == "2019年5月"
    # ... but a question that asks for the month and the day (幾月幾日) gets both
    both = short_answer(Question.parse("新碼頭於幾月幾日啟用？"), [SENTENCE], threshold=0.0)
    assert both is not None and both.text.endswith("5月12日")
    # ... and one that asks for the year and the month gets both
    year_month = short_answer(Question.parse("新碼頭於哪一年的哪個月啟用？"), [SENTENCE], threshold=0.0)
    assert year_month is not None and year_month.text.startswith("2019年5月")


def test_a_day_question_gets_no_year_or_month_alone() -> None:
    """`9月幾號` of a sentence that says only `2025年9月`: neither the year nor the month answers which day."""
    ceasefire = "停火協議在2025年9月生效。"
    citation = Citation(n=1, doc="d", chunk_id="d-0", quote=ceasefire, start=0, end=len(ceasefire))
    assert short_answer(Question.parse("停火協議是9月幾號生效的？"), [citation], threshold=0.0) is None
    assert short_answer(Question.parse("停火協議是哪一年生效的？"), [citation], threshold=0.0) is not None


def test_a_number_question_gets_the_number_from_the_sentence_that_holds_it() -> None:
    short = short_answer(Question.parse("碼頭每年可處理幾個貨櫃？"), [SENTENCE, BOXES], threshold=0.0)
    assert short is not None and DOC[short.start : short.end] == short.text
    assert short.text.startswith("300萬")


def test_a_length_distance_or_duration_question_asks_for_a_number() -> None:
    for asked in ("新碼頭有多長？", "工程花了多久？", "碼頭離市區多遠？", "How long is the pier?", "How far?"):
        assert Question.parse(asked).expectation.expect == "number", asked
    assert Question.parse("How often do ships call?").expectation.expect == "any"
    short = short_answer(Question.parse("新碼頭有多長？"), [LENGTH], threshold=0.0)
    assert short is not None and DOC[short.start : short.end] == short.text == "1122米"


def test_a_range_that_names_its_unit_once_is_one_answer() -> None:
    short = short_answer(Question.parse("港務局要添購多少艘拖船？"), [TUGS], threshold=0.0)
    assert short is not None and DOC[short.start : short.end] == short.text == "20至30艘"


def test_a_two_character_unit_is_kept_whole() -> None:
    rails = "港鐵使用1432毫米軌距。"
    citation = Citation(n=1, doc="rail", chunk_id="rail-0", quote=rails, start=0, end=len(rails))
    short = short_answer(Question.parse("港鐵的軌距是多少毫米？"), [citation], threshold=0.0)
    assert short is not None and short.text == "1432毫米"  # not 1432毫: the reading 毫 (of 毫米|毫) comes second


def test_a_unit_written_in_latin_letters_is_kept_with_its_number() -> None:
    for text, asked, value in (
        ("他身高182CM，是隊中最高的球員。", "他的身高是多少？", "182CM"),
        ("雷達的偵測距離為10 km，追蹤範圍較短。", "雷達的偵測距離有多遠？", "10 km"),
    ):
        quote = Citation(n=1, doc="unit", chunk_id="unit-0", quote=text, start=0, end=len(text))
        short = short_answer(Question.parse(asked), [quote], threshold=0.0)
        assert short is not None and short.text == text[short.start : short.end] == value, (asked, short)
    # A word that starts with a unit's letters is no unit: the number stands alone.
    plain = "球隊在2019 marks的比賽中得到15分。"
    quote = Citation(n=1, doc="unit", chunk_id="unit-0", quote=plain, start=0, end=len(plain))
    assert "2019 m" not in {c.text for c in candidates(Question.parse("球隊得到幾分？"), [quote])}


def test_a_unit_jieba_knows_as_a_measure_word_is_kept_whole_and_a_cut_range_drops_its_joining_word() -> None:
    garden = flat(fold("植物園佔地92英畝。"))
    found = {garden[s:e] for s, e, _, _ in cited_spans(Question.parse("植物園佔地幾英畝？"), "unit", garden, None)}
    assert "92英亩" in found and "92英" not in found
    rule = flat(fold("中華民國治理時期為1912年至1949年。"))
    asked = Question.parse("中華民國治理時期是從什麼時候到1949年？")
    found = {rule[s:e] for s, e, _, _ in cited_spans(asked, "date", rule, None)}
    assert "1912年" in found and "1912年至" not in found


def test_a_transliterated_name_ends_before_the_verb_after_it() -> None:
    gift = flat(fold("最大單筆捐款由喬治·盧卡斯捐贈了一億美元。"))
    found = {
        gift[s:e] for s, e, _, _ in cited_spans(Question.parse("最大單筆捐款是由誰捐贈的？"), "person", gift, None)
    }
    assert "乔治·卢卡斯" in found and not any(f.startswith("乔治·卢卡斯捐") for f in found)
    song = flat(fold("粵語版由吉奧·莫羅德爾譜曲。"))
    found = {song[s:e] for s, e, _, _ in cited_spans(Question.parse("粵語版由誰譜曲？"), "person", song, None)}
    assert "吉奥·莫罗德尔" in found  # a lone character (莫) inside the name stays
    mvp = flat(fold("保羅·皮爾斯則獲得最有價值球員獎。"))
    found = {mvp[s:e] for s, e, _, _ in cited_spans(Question.parse("誰獲得最有價值球員獎？"), "person", mvp, None)}
    assert "保罗·皮尔斯" in found and "保罗·皮尔斯则" not in found  # ... one before a verb does not


def test_what_the_question_already_holds_is_not_its_answer() -> None:
    short = short_answer(Question.parse("2019年5月12日啟用的碼頭造價多少錢？"), [SENTENCE], threshold=0.0)
    assert short is not None and short.text == "35億元"


def test_untyped_questions_and_no_citations_get_none() -> None:
    why = Question.parse("為什麼要建新碼頭？")
    assert kind_of(why) is None
    assert short_answer(why, [SENTENCE]) is None
    assert short_answer(Question.parse("新碼頭於哪一天啟用？"), []) is None


def test_folding_keeps_offsets() -> None:
    text = "臺灣ＡＢＣ１２３，「與」"
    assert len(flat(text)) == len(text) and flat(text) == "台湾abc123,「与」"


def alone(quote: str) -> Citation:
    return Citation(n=1, doc="bio", chunk_id="bio-0", quote=quote, start=0, end=len(quote))


def test_a_name_ending_in_a_word_of_its_kind_is_one_answer() -> None:
    school = alone("陳大文畢業於香港理工大學，其後加入港務局工作。")
    short = short_answer(Question.parse("陳大文畢業於哪所大學？"), [school])
    assert short is not None and short.text == "香港理工大學" and school.quote[short.start : short.end] == short.text
    city = alone("新碼頭位於高雄市旗津區，鄰近舊港。")
    short = short_answer(Question.parse("新碼頭位於哪個城市？"), [city])
    assert short is not None and short.text.startswith("高雄市")


def test_a_reign_year_is_a_date() -> None:
    reign = alone("漢地十八省的說法於康熙七年開始產生，沿用至清末。")
    short = short_answer(Question.parse("漢地十八省是從何時開始產生的？"), [reign])
    assert short is not None and short.text == "康熙七年"


def test_candidates_keep_exact_offsets_and_quoted_names() -> None:
    ship = alone("新船由港務局局長陳大文命名為「海龍號」，並於下月啟航。")
    found = candidates(Question.parse("新船由誰命名？"), [ship])
    texts = {c.text for c in found}
    assert {"陳大文", "海龍號"} <= texts
    assert all(ship.quote[c.start : c.end] == c.text and len(c.features) == len(FEATURES) for c in found)


def test_a_name_written_after_the_title_asked_of_stands_next_to_the_question_words() -> None:
    # `港務局局長是誰？` of `…港務局局長陳大文…`: the sentence writes no 是 between the title and the name, so the
    # question's words before its question word are matched without the joining word they end in.
    meeting = alone("會議前夕，市長王小明與港務局局長陳大文會面。")
    found = {
        c.text: dict(zip(FEATURES, c.features, strict=True))
        for c in candidates(Question.parse("港務局局長是誰？"), [meeting])
    }
    assert found["陳大文"]["left"] == 5 / 8 and found["陳大文"]["left_adjacent"] == 1.0  # 港務局局長, of 8 at most
    assert found["王小明"]["left"] == 1 / 8 and found["王小明"]["left_adjacent"] == 0.0  # only the 長 of 市長


def test_the_shipped_scorer_is_trees_over_the_current_features() -> None:
    scorer = default_scorer()
    assert scorer.booster is not None and scorer.booster.num_feature() == len(FEATURES)
    found = candidates(Question.parse("碼頭每年可處理幾個貨櫃？"), [BOXES])
    assert all(0.0 <= p <= 1.0 for p in scorer.probabilities(found))


def test_the_api_gives_the_short_answer_inside_a_cited_sentence(
    settings: Settings, pipeline: Pipeline, article: str
) -> None:
    with serve(build_app(settings, pipeline=pipeline)) as url, httpx.Client(base_url=url, timeout=30) as client:
        data = client.post("/ask", json={"question": "拜登在哪一年之前反對烏克蘭用西方武器打擊克里米亞？"}).json()
        short = data["short_answer"]
        assert set(short) == {"text", "start", "end", "doc", "said"} and short["said"] is None  # said: English only
        assert article[short["start"] : short["end"]] == short["text"] == "2024年"
        assert any(c["start"] <= short["start"] and short["end"] <= c["end"] for c in data["citations"])
        why = client.post("/ask", json={"question": "北約秘書長呂特為什麼緊急訪美？"}).json()
        assert why["short_answer"] is None
        schema = client.get("/openapi.json").json()["components"]["schemas"]
        assert "short_answer" in schema["AskResponse"]["properties"] and "ShortAnswerOut" in schema


def test_the_short_answer_is_read_from_the_likeliest_cited_sentence(pipeline: Pipeline) -> None:
    """Of the sentences cited, the one the evidence step ranked first (its lead) gives the short answer: another cited
    sentence may hold a value of the same kind that answers something else."""
    sentences = pipeline.retriever.index.sentences
    truce = next(s for s in sentences if "迎來第三次停火" in s.text)
    summit = next(s for s in sentences if s.text.startswith("2025年10月30日"))
    asked = Question.parse("第三次停火是什麼時候？")
    answerer = pipeline.answerer
    for lead, value in ((truce, "9月"), (summit, "10月30日")):
        evidence = Evidence(tuple(sorted((truce, summit), key=lambda s: s.start)), 1.0, lead=(lead,))
        answer = answerer.from_evidence("zh-Hant", [], evidence, {}, 0.0, question=asked)
        short = answer.short_answer
        assert short is not None and lead.start <= short.start < short.end <= lead.end, lead.text
        assert value in short.text
        assert len(answer.citations) == 2


def test_an_english_question_gets_a_value_when_the_sentence_holds_only_one_of_its_kind() -> None:
    # The model reads the question's words around a candidate, which an English question cannot show.
    short = short_answer(Question.parse("When did the new pier open?"), [SENTENCE])
    assert short is not None and DOC[short.start : short.end] == short.text == "2019年5月12日"
    length = short_answer(Question.parse("How many metres long is the new pier?"), [LENGTH])
    assert length is None  # 1122米 and 50米: two of its kind, and nothing in English to choose between them
    boxes = short_answer(Question.parse("How many containers can the pier handle a year?"), [BOXES])
    assert boxes is not None and boxes.text == "300萬個"
    cost = short_answer(Question.parse("How much did the new pier cost?"), [SENTENCE])
    assert cost is not None and cost.text == "35億元"
    tugs = short_answer(Question.parse("How many tugboats will the port authority buy?"), [TUGS])
    assert tugs is not None and tugs.text == "20至30艘"  # 20至30 inside it is the same value
    assert short_answer(Question.parse("How many containers?"), [BOXES, TUGS]) is None  # two sentences, two values
    assert short_answer(Question.parse("Who opened the new pier?"), [SENTENCE]) is None  # a name: not a value


def test_a_value_written_in_english_ends_where_its_digits_do() -> None:
    text = "The rocket launched from Cape Canaveral carrying 24 satellites and 1,200 kilograms of fuel."
    quote = Citation(n=1, doc="launch", chunk_id="launch-0", quote=text, start=10, end=10 + len(text))
    for asked, value in (("How many satellites did the rocket carry?", "24"), ("火箭載了多少顆衛星？", "24")):
        found = candidates(Question.parse(asked), [quote])
        assert found and all(not c.text[0].isspace() and not c.text[-1].isspace() for c in found), found
        assert value in {c.text for c in found}


def test_a_count_of_years_is_never_a_year_of_the_calendar() -> None:
    war = "港口戰爭於2019年爆發，至今已持續三年。"
    quote = Citation(n=1, doc="war", chunk_id="war-0", quote=war, start=0, end=len(war))
    counted = {c.text for c in candidates(Question.parse("港口戰爭持續了多少年？"), [quote])}
    assert "三年" in counted and "2019年" not in counted
    dated = {c.text for c in candidates(Question.parse("港口戰爭於西元幾年爆發？"), [quote])}
    assert "2019年" in dated  # an era makes it a year


def test_which_year_is_answered_with_a_year_never_with_a_month_alone() -> None:
    quit_ = "十一月，港務局長宣布辭職，1975年由副局長接任。"
    quote = Citation(n=1, doc="quit", chunk_id="quit-0", quote=quit_, start=0, end=len(quit_))
    which_year = {c.text for c in candidates(Question.parse("港務局長在哪一年宣布辭職？"), [quote])}
    assert "十一月" not in which_year and "1975年" in which_year
    assert "十一月" in {c.text for c in candidates(Question.parse("港務局長在哪個月宣布辭職？"), [quote])}


def test_a_span_that_cannot_answer_the_question_is_no_candidate() -> None:
    """A time of the day for which day, a day of the calendar for how long, a numeral inside a word, a pointer."""

    def texts(asked: str, sentence: str) -> set[str]:
        quote = Citation(n=1, doc="d", chunk_id="d-0", quote=sentence, start=0, end=len(sentence))
        return {c.text for c in candidates(Question.parse(asked), [quote])}

    plan = "停火於9月10日生效，依據的是20點和平計劃。"
    assert "20點" not in texts("停火在哪一天生效？", plan) and "9月10日" in texts("停火在哪一天生效？", plan)
    assert "20點" in texts("會議幾點開始？", "會議於20點開始。")  # a time is an answer to what time
    summit = "2025年8月15日，兩國峰會在港口舉行，會談持續三小時。"
    lasted = texts("峰會持續了多長時間？", summit)
    assert "三小時" in lasted and not lasted & {"2025年", "2025年8月15日", "8月15日"}
    assert "兩" not in texts("How many missiles were deployed?", "俄羅斯部署了兩用導彈。")
    assert "五盤" in texts("比賽最多有幾盤？", "比賽最多有五盤。")
    assert not texts("港口從哪一年開始夜間作業？", "也正是在這一年，港口開始夜間作業。")
