"""Values as texts write them (qa/answering/values.py): whether a sentence holds the kind of value a question asks
for. The typed-value columns of the evidence ranker read this, so a date or an ordinal written in Chinese numerals,
a three-digit year or a fraction must count."""

from __future__ import annotations

import pytest

from qa.answering.question import Expectation, Question
from qa.answering.values import (
    DATE_RE,
    EXTRA,
    holds,
    holds_a_day,
    holds_a_duration,
    holds_a_measure,
    holds_a_month_or_day,
    holds_a_quantity,
    holds_a_year,
    in_calendar_units,
    names_month_of_year,
    without_calendar_dates,
    without_counts_of,
    without_durations,
)
from qa.text.folding import fold


@pytest.mark.parametrize(
    ("question", "sentence"),
    [
        ("這座寺廟建於哪一年？", "寺廟建於公元612年，後毀於戰火。"),
        ("那場戰役發生在哪一天？", "九月初三，兩軍在河口交戰。"),
        ("這種瓷器是在什麼時候出現的？", "這種瓷器在北宋時期出現。"),
        ("城牆是何時修建的？", "城牆修建於19世紀中期。"),
        ("這座港口是全國第幾大港口？", "這座港口是全國第三大港口。"),
        ("森林約占全省面積的多少比例？", "森林約占全省面積的五分之二。"),
        ("有多少百分比的居民住在城市？", "約有六成的居民住在城市。"),
        ("公司去年花了多少錢？", "公司去年支出三百萬美元。"),
        ("這條河有多少公里長？", "這條河長約一千二百公里。"),
    ],
)
def test_a_sentence_holds_the_value_asked_for_as_it_is_written(question: str, sentence: str) -> None:
    assert Question.parse(question).expectation.satisfied_by(sentence)


@pytest.mark.parametrize(
    ("question", "sentence"),
    [
        ("這座寺廟建於哪一年？", "寺廟後來毀於戰火，僧人遷往山中。"),
        ("這座港口是全國第幾大港口？", "這座港口以轉運煤炭聞名。"),
        ("森林約占全省面積的多少比例？", "森林以松樹和杉樹為主。"),
        ("這條河有多少公里長？", "這條河流經三個省。"),
        ("會議有多少人出席？", "會議統一了各方的意見。"),  # the 一 of 統一 is no count
    ],
)
def test_a_sentence_without_such_a_value_does_not_hold_one(question: str, sentence: str) -> None:
    assert not Question.parse(question).expectation.satisfied_by(sentence)


def test_days_and_years_of_the_calendar_count_nothing() -> None:
    assert not holds_a_quantity(without_calendar_dates(fold("在2024年11月前，10月30日峰會結束後")))
    # A bare four-digit number may be a count; a count beside a date stays.
    assert holds_a_quantity(without_calendar_dates(fold("2006年人口統計數據為1694人")))
    assert without_calendar_dates(fold("1694")) == "1694"
    assert in_calendar_units(Question.parse("抗日戰爭是在西元幾年結束？").expectation.unit)
    assert not in_calendar_units(Question.parse("會議有多少人出席？").expectation.unit)


def test_a_count_the_question_writes_is_blanked() -> None:
    question = fold("以色列在第三次停火後違反了幾次協議？")
    sentence = fold("在第三次停火後，以色列多次違反協議。")
    assert holds_a_quantity(sentence)
    assert not holds_a_quantity(without_counts_of(sentence, question))
    # ... but not a count the question does not write, nor the same numeral counting something else
    assert holds_a_quantity(without_counts_of(fold("在第三次停火後，以色列違反協議兩次。"), question))
    assert holds_a_quantity(without_counts_of(fold("停火後三天，以色列違反協議。"), question))


@pytest.mark.parametrize(
    ("question", "measure", "sentence"),
    [
        ("這座山的海拔有多高？", "length", "主峰海拔三千九百五十二公尺。"),
        ("這種魚體長多少？", "length", "成魚體長可達50 cm。"),
        ("How far is the port from the city?", "length", "港口距離市區約12公里。"),
        ("公園的面積是多少？", "area", "公園占地約22平方公里。"),
        ("這條船的航速有多快？", "speed", "這條船時速可達三十節。"),
        ("處理器的速度是多少？", "speed", "處理器的速度為4.7 GHz。"),
        ("成年大象的體重是多少？", "weight", "成年大象重約六噸。"),
        ("當地夏天的氣溫有多少？", "temperature", "當地夏天氣溫可達攝氏35度。"),
    ],
)
def test_a_measure_asked_for_is_held_by_a_number_with_its_unit(question: str, measure: str, sentence: str) -> None:
    assert Question.parse(question).expectation.measure == measure
    assert holds_a_measure(fold(sentence), measure)
    assert not holds_a_measure(fold("這裡共有三個港口，兩座公園。"), measure)


@pytest.mark.parametrize(
    "question",
    ["這場戰爭持續了多長時間？", "醫院是在距離現在多久以前蓋的？", "面積是曼哈頓島的幾倍？", "這座山有多少個山峰？"],
)
def test_a_length_of_time_a_ratio_or_a_count_measures_nothing(question: str) -> None:
    assert Question.parse(question).expectation.measure is None


@pytest.mark.parametrize(
    ("question", "counted"),
    [
        ("港口今年停靠了多少艘貨櫃船？", ("货柜船",)),  # folded: Simplified
        ("古監獄保存了幾座中世紀的塔樓？", ("中世纪",)),  # what 的 ties to it is another word's
        ("有多少名士兵參加了戰鬥？", ("士兵",)),  # up to the verb
        ("多少個國家簽署了協議？", ("国家",)),
        ("莫扎伊斯克有多少居民？", ()),  # no measure word: the unit asked for is the thing
        ("貨櫃碼頭離市區有多少公里？", ()),  # a unit, no thing after it
        ("How many container ships docked this year?", ()),
        ("有多少艘" + "貨櫃船郵輪" * 400 + "？", ("货柜船", "邮轮")),  # a name is short: its start, each word once
    ],
)
def test_the_thing_a_count_is_asked_of_is_read_by_its_words(question: str, counted: tuple[str, ...]) -> None:
    assert Question.parse(question).expectation.counted == counted


def test_a_length_of_time_is_blanked_and_a_day_of_the_calendar_is_not() -> None:
    assert not holds_a_quantity(without_durations(fold("這場持續三年的戰爭")))
    assert not holds_a_quantity(without_durations(fold("會談持續了90分鐘")))
    assert "2025年" in without_durations(fold("2025年十月"))
    assert holds_a_quantity(without_durations(fold("三年來有兩千人遇難")))


def test_a_month_or_a_day_asked_for_needs_one_written() -> None:
    assert Question.parse("俄羅斯是在幾月部署的？").expectation.finer
    assert Question.parse("In what month were the drills held?").expectation.finer
    assert not Question.parse("俄羅斯是在哪一年部署的？").expectation.finer
    assert not holds_a_month_or_day(fold("俄羅斯於2023年在白羅斯部署了戰術性核力量"))
    for written in ("2023年5月", "10月30日", "昨日", "星期五", "初五", "in october"):
        assert holds_a_month_or_day(fold(written)), written


def test_a_day_asked_for_needs_a_day_written_not_only_its_month() -> None:
    for asked in ("停火是9月幾號生效的？", "條約在幾月幾日簽訂？", "他哪一天離開？", "On what date was it signed?"):
        assert Question.parse(asked).expectation.day, asked
    # A month or a year asked for; 幾日 alone may count days.
    for asked in ("俄羅斯是在幾月部署的？", "俄羅斯是在哪一年部署的？", "上映期間不得少於幾日？"):
        assert not Question.parse(asked).expectation.day, asked
    for written in ("2025年9月", "在2023年", "September 2025"):
        assert not holds_a_day(fold(written)), written
    for written in ("10月30日", "三十號", "十月廿一", "七月初十", "昨日", "星期五", "October 30", "30 October"):
        assert holds_a_day(fold(written)), written


def test_a_year_is_written_in_digits_not_pointed_back_to() -> None:
    assert Question.parse("九三砲戰於何年爆發？").expectation.year
    assert Question.parse("In which year did it end?").expectation.year
    assert not Question.parse("九三砲戰於何時爆發？").expectation.year
    for written in ("1954年", "前221年", "in 1954,"):
        assert holds_a_year(fold(written)), written
    for written in ("9月3日", "同年", "第12345號"):
        assert not holds_a_year(fold(written)), written


def test_colloquial_question_words_are_read_as_the_standard_ones() -> None:
    from qa.answering.alignment import asks_why

    why = Question.parse("俄烏停火為啥比加沙難？")
    assert asks_why(why.folded) and "啥" not in "".join(why.terms)
    assert asks_why(Question.parse("北约干嘛要给乌克兰军援？").folded)
    assert Question.parse("啥时候开始停火的？").expectation.expect == "date"
    assert Question.parse("特朗普咋看这事？").terms == Question.parse("特朗普怎么看这事？").terms
    # 干嘛 is `why` only before what it asks about (干嘛要, 干嘛还); 你在干嘛 asks what someone is doing.
    assert not asks_why(Question.parse("他们在干嘛？").folded)
    # The written whys too (`…因何而得名？` was not read as asking for a reason, nor cited the sentence that gives it).
    for written in ("碼頭因何停工？", "码头缘何停工？", "碼頭何故停工？"):
        parsed = Question.parse(written)
        assert asks_why(parsed.folded) and parsed.terms == Question.parse("碼頭為什麼停工？").terms, written


def test_the_article_named_as_the_one_who_says_is_not_part_of_what_is_asked() -> None:
    """Readers ask about an article through it (照這篇報道的分析, 作者認為, 文中提及, according to the article): the
    pairs of those words (#報道, #者認) are no words of the answer, and they lowered the odds that it answers."""
    plain = Question.parse("港務局為什麼延後碼頭擴建？")
    for asked in (
        "照這篇報道的分析，港務局為什麼延後碼頭擴建？",
        "作者認為港務局為什麼延後碼頭擴建？",
        "依文章所述，港務局為什麼延後碼頭擴建？",
        "文中提及，港務局為什麼延後碼頭擴建？",
        "按文章的说法，港務局為什麼延後碼頭擴建？",
    ):
        parsed = Question.parse(asked)
        assert (parsed.text, parsed.terms) == (plain.text, plain.terms), asked
    english = Question.parse("Why did the port authority delay the new quay?")
    for asked in ("According to the article, why did", "In the author's view, why did"):
        assert Question.parse(f"{asked} the port authority delay the new quay?").terms == english.terms, asked
    # ... but not when nothing else would be asked (the article's gist), nor a book's author.
    assert Question.parse("這篇文章說了什麼？").text == "這篇文章說了什麼？"
    assert Question.parse("《國富論》的作者認為財富從哪裡來？").text == "《國富論》的作者認為財富從哪裡來？"


def test_a_date_a_question_names_is_a_date_and_is_found_however_the_article_writes_its_month() -> None:
    # `2000多年` counts years, and `2000余人` people: no date the article must mention (`2000年` is one).
    assert Question.parse("長城已有2000多年歷史，哪個朝代修得最多？").expectation.given == ()
    assert Question.parse("港口有2000余人罷工，持續了幾天？").expectation.given == ()
    assert Question.parse("2000年的奧運在哪裡舉行？").expectation.given == ("2000",)
    # A month of a year, in digits or in Chinese numerals, after the year last named before it.
    assert names_month_of_year("2019年3月5日，碼頭動工。同年8月，郵輪靠岸。", "2019", "8")
    assert names_month_of_year("根据2012年七月的人口普查", "2012", "7")
    assert names_month_of_year("2012年十二月", "2012", "12") and not names_month_of_year("2012年十二月", "2012", "2")
    assert not names_month_of_year("2019年3月動工。2020年8月靠岸。", "2019", "8")


def test_an_english_question_about_revenue_or_funding_asks_for_money() -> None:
    assert Question.parse("How much tax revenue did the city lose?").expectation.expect == "money"
    assert Question.parse("How much funding did the council approve?").expectation.expect == "money"
    assert Question.parse("How much of the island is forest?").expectation.expect == "number"


def test_a_day_asked_for_with_an_adjective_is_a_date() -> None:
    assert Question.parse("On what exact day did the talks end?").expectation.expect == "date"
    assert Question.parse("What specific date was the summit held?").expectation.expect == "date"


def test_words_that_only_look_like_questions_ask_for_no_value() -> None:
    assert Question.parse("幾何光學又稱為什麼？").expectation.expect == "any"  # geometry, not 幾 (how many)
    assert Question.parse("他幾乎每天做什麼？").expectation.expect == "any"
    assert Question.parse("有多少百分比的人同意？").expectation.expect == "percent"


@pytest.mark.parametrize(
    "question",
    [
        "多倫多大學的主校區在哪裡？",  # 多大 of 多倫多 + 大學
        "許多高中生住在哪個城市？",  # 多高 of 許多 + 高中
        "赤道幾內亞的首都是哪座城市？",  # 幾 of 幾內亞
        "劇院上演哪幾種戲劇？",  # 哪幾 asks which, not how many
        "哪位將軍打了幾次勝仗後被封侯？",  # beside another question word, 幾 is "several"
        "幾千年來，哪位學者最先研究閃電？",
    ],
)
def test_a_question_word_inside_another_word_or_beside_another_question_word_asks_for_no_value(question: str) -> None:
    assert Question.parse(question).expectation.expect == "any"


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("這款戰鬥機每架售價大約是多少？", "money"),  # a price, a value, an income: an amount of money
        ("該品牌的價值約值多少？", "money"),
        ("男子的平均年收入是多少？", "money"),
        ("搭船從南竿到東引要花費多少時間？", "unit"),  # time spent is not money
        ("這部片子獲得的評價多少？", "number"),  # 評價 (a rating) is no price
        ("這批戰機的總金額是多少？", "money"),  # a sum, a budget, a fine: an amount of money
        ("今年的國防預算有多少？", "money"),
        ("How much will the city pay for the new bridge?", "money"),
        ("How much did the bridge weigh?", "number"),  # how much, but not paid: a quantity
    ],
)
def test_a_price_asked_for_is_money_and_time_spent_is_not(question: str, kind: str) -> None:
    assert Question.parse(question).expectation.expect == kind


@pytest.mark.parametrize(
    ("question", "kind", "finer"),
    [
        ("新港口於何年啟用？", "date", False),  # 何年, 何月, 何日: which year, month, day
        ("颱風於何月何日登陸？", "date", True),
        ("為何年輕人不去投票？", "any", False),  # 為何 (why) before 年輕人
        ("任何年齡的人都能參加什麼活動？", "any", False),
        ("這座教堂建於哪一個世紀？", "date", False),  # a century, a decade
        ("這種音樂流行於什麼年代？", "date", False),
        ("城門在什麼時後被攻破？", "date", False),  # 時後: a common slip for 時候
        ("西瓜節在每年的哪一個月舉辦？", "date", True),
    ],
)
def test_which_year_month_day_century_or_decade_asks_for_a_date(question: str, kind: str, finer: bool) -> None:
    asked = Question.parse(question).expectation
    assert (asked.expect, asked.finer) == (kind, finer)


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("全省人口中漢人約佔多少比例？", "percent"),
        ("森林面積占全縣土地的多少？", "percent"),  # a share, written 占…多少
        ("市場上以哪一種米的比例最多？", "any"),  # which kind: a name, not a share
        ("該校的女職員佔有多少名？", "unit"),  # a count of people, not a share
        ("軍隊攻佔該島時派了多少人？", "unit"),
    ],
)
def test_a_share_asked_for_is_a_percentage_but_not_which_one_or_how_many(question: str, kind: str) -> None:
    assert Question.parse(question).expectation.expect == kind


def test_a_century_or_a_decade_in_chinese_numerals_is_a_date() -> None:
    for text, value in (("該學派誕生於二十世紀初。", "二十世纪初"), ("運動於七十年代展開。", "七十年代")):
        found = DATE_RE.search(fold(text))
        assert found is not None and found.group() == value
        assert holds("date", fold(text))
    assert not holds("date", fold("十年代表一個世代"))


@pytest.mark.parametrize(("question", "kind"), [("這座塔有多高？", "number"), ("塔高多少公尺？", "unit")])
def test_a_question_word_that_stands_alone_still_asks(question: str, kind: str) -> None:
    assert Question.parse(question).expectation.expect == kind


def test_kinds_without_a_pattern_hold_any_text() -> None:
    assert holds("any", fold("沒有數字的句子"))
    assert holds("unit", fold("沒有數字的句子"), None)


@pytest.mark.parametrize(
    "sentence",
    [
        "二年改北直隶为直隶省",  # a reign year opening the sentence: no two characters before it
        "俄罗斯、朝鲜、蒙古",  # 朝 after a comma is no dynasty
        "癌症、关节炎的研究",  # nor is 节 a feast after a comma and one character
        "东汉时期发展出青瓷",
        "公元前216年，秦令黔首自实田",
        "九十年代初梅参演电影",
        "每年农历九月初九举办",
        "航程大约两小时",
        "他在1600年开始研究",
        "这座城市以港口闻名",
    ],
)
def test_a_date_is_held_as_the_short_answers_patterns_find_one(sentence: str) -> None:
    """holds() reads a date's presence with its own pattern (faster than finding where each one begins and ends): it
    agrees with the patterns short answers are cut with."""
    found = any(m.group().strip() for m in DATE_RE.finditer(sentence)) or EXTRA["date"].search(sentence) is not None
    assert holds("date", sentence) == found


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("欧洲仍在设法统一内部立场", False),  # 一 inside a word is no number
        ("一些国家与唯一的盟友", False),
        ("三名士兵", True),
        ("两千人", True),
        ("五元", True),
        ("1990年", True),
        ("一百万美元", True),
    ],
)
def test_a_numeral_inside_a_word_writes_no_number(text: str, number: bool) -> None:
    from qa.answering.values import names_a_number

    assert names_a_number(text) is number


def test_a_word_that_runs_on_past_what_follows_how_many_is_no_unit() -> None:
    assert Question.parse("有多少年輕人參加了遊行？").expectation == Expectation("number")  # 年輕人, not 年
    assert Question.parse("有多少運動員參賽？").expectation == Expectation("number")
    years = Question.parse("戰爭持續了多少年？").expectation
    assert years.expect == "unit" and years.unit == "年"
    far = Question.parse("海岸線有多少公里？").expectation
    assert far.expect == "unit" and far.unit is not None and "公里" in far.unit.split("|")


def test_a_date_is_written_as_a_calendar_date_not_as_an_era() -> None:
    asked = Question.parse("王朝在哪一年建立？").expectation
    assert asked.held_in("高丽王朝的军政大权") and not asked.written_in("高丽王朝的军政大权")
    assert asked.written_in("1388年，高丽国王派兵")


@pytest.mark.parametrize(
    ("question", "duration"),
    [
        ("峰會一共談了幾個小時？", True),
        ("會談持續了多長時間？", True),
        ("How long did the summit last?", True),
        ("How long is the pier?", False),  # a length
        ("哪幾天會下雨？", False),  # which days
        ("峰會在哪一年舉行？", False),
    ],
)
def test_a_question_asks_for_a_length_of_time(question: str, duration: bool) -> None:
    assert Question.parse(question).expectation.duration is duration


@pytest.mark.parametrize(
    ("text", "held"),
    [
        ("会谈持续了三个多小时", True),
        ("超过三年", True),
        ("90分钟后", True),
        ("半年后", True),
        ("2025年10月30日在釜山会晤", False),  # days and years of the calendar
        ("十月", False),  # October, not ten months
        ("十个月", True),
    ],
)
def test_a_length_of_time_is_not_a_day_of_the_calendar(text: str, held: bool) -> None:
    assert holds_a_duration(text) is held
