"""The chat page, the article view and the widget: their headers, and their behaviour in a real headless Chromium."""

from __future__ import annotations

import html
import re
import shutil
import threading
from collections.abc import AsyncGenerator, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Dialog,
    FrameLocator,
    Locator,
    Page,
    Request,
    expect,
    sync_playwright,
)
from qa_client import QAClient
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request as StarletteRequest
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from qa.answering.engine import Engine, Event
from qa.config import Settings
from qa.retrieval.embedding import SentenceTransformerEmbedder
from qa.server.routes.web import WEB_DIR, frame_ancestors
from qa.server.state import Pipeline
from qa.types import Answer, Docs, Turn
from qa.wiring import build_app, build_pipeline
from tests.support import ROOT, configured, free_port, serve

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SHOTS = ROOT / "artifacts" / "screenshots"
QUESTION = "歐盟第19輪制裁禁止了什麼進入歐洲市場？"
FOLLOW_UP = "那美國制裁了哪兩家俄羅斯石油公司？"
ABSTAIN = "特朗普什麼時候訪問了北韓？"
HOSTILE = "<img src=x onerror=alert(1)><script>window.__pwned = 1</script>是什麼？"
DRAFT = "（草稿：正在寫）"


# ---- without a browser: headers, confinement, no HTML parsing in the scripts ----


@pytest.fixture(scope="module")
def client(live_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_url, timeout=30) as c:
        yield c


def csp(headers: Mapping[str, str]) -> dict[str, str]:
    """The Content-Security-Policy as {directive: sources}."""
    policy = headers["content-security-policy"]
    return {d.split(" ", 1)[0]: d.split(" ", 1)[1] for d in (p.strip() for p in policy.split(";")) if d}


@pytest.mark.parametrize("path", ["/", "/article", "/embed"])
def test_pages_forbid_inline_code(client: httpx.Client, path: str) -> None:
    reply = client.get(path)
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/html")
    policy = csp(reply.headers)
    assert policy["default-src"] == "'self'" and policy["script-src"] == "'self'"
    assert "unsafe" not in reply.headers["content-security-policy"]
    assert policy["frame-ancestors"] == "'none'"  # the live server allows no origins, so not even /embed
    html = reply.text
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script"
    assert not re.search(r"\s(on\w+|style)\s*=", html, re.IGNORECASE), "inline handler or style"
    assert "http://" not in html and "https://" not in html, "nothing from another host"
    assert not re.search(r'(?:src|href)="/', html), "relative to the page: the service may sit under a prefix"
    for asset in re.findall(r'(?:src|href)="(static/[^"]+)"', html):
        assert client.get("/" + asset).status_code == 200, asset


def test_embed_may_be_framed_only_by_allowed_origins(settings: Settings, pipeline: Pipeline) -> None:
    origins = ["http://127.0.0.1:9123", "https://example.org", "https://x.org; script-src *", "https://example.org"]
    app = build_app(configured(settings, **{"allowed_origins": origins}), pipeline=pipeline)
    with TestClient(app) as c:
        embed, chat = c.get("/embed"), c.get("/")
    policy = csp(embed.headers)
    assert policy["frame-ancestors"] == "http://127.0.0.1:9123 https://example.org"
    assert "script-src *" not in embed.headers["content-security-policy"]
    assert "x-frame-options" not in embed.headers
    assert csp(chat.headers)["frame-ancestors"] == "'none'" and chat.headers["x-frame-options"] == "DENY"
    assert frame_ancestors([]) == "'none'"


def test_the_question_box_takes_questions_only_once_the_script_has_loaded(client: httpx.Client) -> None:
    # Enter pressed before chat.js has run would only add a line break: the question would go nowhere.
    for path in ("/", "/embed"):
        page = client.get(path).text
        assert re.search(r'<textarea id="question"[^>]*\bdisabled\b', page), path
        assert re.search(r'<button[^>]*id="ask-button"[^>]*\bdisabled\b', page), path
    # ... and chat.js enables both: every browser test below types into the box and asks.


def test_static_files_are_confined_to_the_web_folder(client: httpx.Client) -> None:
    assert client.get("/static/style.css").headers["content-type"].startswith("text/css")
    widget = client.get("/widget.js")
    assert widget.status_code == 200 and "javascript" in widget.headers["content-type"]
    assert widget.headers["cross-origin-resource-policy"] == "cross-origin"
    long = "/static/" + "a" * 300 + ".js"  # past the filesystem's name limit: was a 500 (ENAMETOOLONG)
    for path in ["/static/nope.js", "/static/..%2Froutes%2Fweb.py", "/static/index.html", "/static/.hidden.js", long]:
        reply = client.get(path)
        assert reply.status_code == 404, path
        assert set(reply.json()) == {"error"}
    # Routing refuses a name with a slash before the name check sees it: the check itself, on a file that exists
    # beside the web folder.
    from qa.server.errors import ApiError
    from qa.server.routes.web import WEB_DIR, _asset

    assert (WEB_DIR / "../routes/web.py").is_file()
    with pytest.raises(ApiError) as refused:
        _asset("../routes/web.py")
    assert refused.value.status == 404


def test_scripts_never_turn_strings_into_html_or_code() -> None:
    scripts = sorted(WEB_DIR.glob("*.js"))
    assert {p.name for p in scripts} >= {"chat.js", "article.js", "i18n.js", "source.js", "widget.js"}
    for path in scripts:
        source = path.read_text(encoding="utf-8")
        for sink in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"]:
            assert sink not in source, f"{path.name} uses {sink}"


def test_scripts_address_the_service_relative_to_the_page() -> None:
    # `/ask` would leave a service served under a path prefix (https://news.example/news-qa/) for the origin's root.
    routes = "|".join(["ask", "documents", "article", "embed", "static", "page-token", "widget"])
    for path in sorted(WEB_DIR.glob("*.js")):
        found = re.findall(f"[\"'`]/(?:{routes})\\b", path.read_text(encoding="utf-8"))
        assert found == [], f"{path.name}: {found}"


# ---- in Chromium ----


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # A missing browser fails rather than skips: a skipped browser test would pass CI having checked nothing.
    assert CHROMIUM.exists(), "needs Debian's chromium at /usr/bin/chromium (scripts/setup-test.sh installs it)"
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def problems() -> list[str]:
    """Console errors (CSP violations among them) and uncaught exceptions of the test's pages."""
    return []


def open_page(browser: Browser, problems: list[str], **options: Any) -> Page:
    """A page in a fresh context (own storage), in Traditional Chinese unless told otherwise."""
    options = {"viewport": {"width": 1280, "height": 800}, "locale": "zh-TW", **options}
    page = browser.new_context(**options).new_page()

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(message.text)

    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return page


@pytest.fixture
def page(browser: Browser, problems: list[str]) -> Iterator[Page]:
    tab = open_page(browser, problems)
    yield tab
    tab.context.close()
    assert problems == []


def ask(page: Page, question: str, *, scope: FrameLocator | None = None) -> Locator:
    """Type the question, press Enter, and return the finished answer element."""
    root: Page | FrameLocator = scope or page
    count = root.locator(".turn").count()
    root.locator("#question").fill(question)
    root.locator("#question").press("Enter")
    answer = root.locator(".turn").nth(count).locator(".answer:not(.pending)")
    answer.wait_for()
    return answer


def asked_as_the_api(page: Page, expected: dict[str, Any], *, scope: FrameLocator | None = None) -> None:
    """Ask QUESTION, check that the page shows the API's answer, and open its first citation in the source panel."""
    answer = ask(page, QUESTION, scope=scope)
    assert answer.locator(".answer-text").inner_text() == expected["answer"]
    answer.locator(".answer-text .cite").first.click()


def api(client: httpx.Client, question: str, history: Sequence[dict[str, str]] = ()) -> dict[str, Any]:
    """What the API answers (the extractive pipeline is deterministic)."""
    body: dict[str, Any] = {"question": question}
    if history:
        body["history"] = list(history)
    reply = client.post("/ask", json=body)
    assert reply.status_code == 200, reply.text
    return reply.json()  # type: ignore[no-any-return]


def in_viewport(page: Page, locator: Locator) -> bool:
    box = locator.bounding_box()
    size = page.viewport_size
    assert box is not None and size is not None
    return box["y"] >= 0 and box["y"] + box["height"] <= size["height"] and 0 <= box["x"] <= size["width"]


@pytest.mark.browser
def test_answer_with_a_citation_opens_the_quote_in_its_paragraph(
    page: Page, live_url: str, client: httpx.Client, article: str
) -> None:
    expected = api(client, QUESTION)
    assert not expected["abstained"] and expected["citations"]
    streamed: list[str] = []
    page.on("request", lambda r: streamed.append(r.url) if r.method == "POST" else None)
    page.goto(live_url + "/")
    answer = ask(page, QUESTION)
    assert streamed == [live_url + "/ask/stream"]
    assert answer.locator(".answer-text").inner_text() == expected["answer"]
    markers = answer.locator(".answer-text .cite")
    assert markers.count() == len(expected["citations"])
    expect(page.locator("#about-link")).not_to_be_empty()  # /documents answered: one article, nothing to pick
    expect(page.locator("#doc-picker")).to_be_attached()
    assert page.locator("#scope").is_hidden()

    first = expected["citations"][0]
    markers.first.click()
    mark = page.locator("#source-body mark")
    mark.wait_for()
    assert mark.inner_text() == first["quote"] == article[first["start"] : first["end"]]
    assert in_viewport(page, mark)
    paragraph = page.locator("#source-body p").inner_text()
    assert first["quote"] in paragraph and len(paragraph) > len(first["quote"])
    link = page.locator("#source-link").get_attribute("href")
    assert link == f"article?doc={first['doc']}#c-{first['start']}-{first['end']}"
    page.screenshot(path=SHOTS / "chat-answer-citation.png")


@pytest.mark.browser
def test_keyboard_alone_asks_reaches_a_citation_and_closes_the_source(page: Page, live_url: str) -> None:
    page.goto(live_url + "/")
    assert page.evaluate("document.activeElement.id") == "question"
    page.keyboard.type(QUESTION)
    page.keyboard.press("Enter")
    page.locator(".answer:not(.pending)").wait_for()
    for _ in range(10):  # back from the question box into the conversation
        page.keyboard.press("Shift+Tab")
        if page.evaluate("document.activeElement.matches('.answer-text .cite')"):
            break
    else:
        pytest.fail("no citation marker is reachable with the Tab key")
    outline = page.evaluate(
        "(e => [getComputedStyle(e).outlineStyle, getComputedStyle(e).outlineWidth])(document.activeElement)"
    )
    assert outline[0] != "none" and float(outline[1].rstrip("px")) >= 2
    page.keyboard.press("Enter")
    page.locator("#source-body mark").wait_for()
    page.keyboard.press("Escape")
    assert page.locator("#source-panel").is_hidden()
    assert page.evaluate("document.activeElement.matches('.answer-text .cite')")


@pytest.mark.browser
def test_language_switch_relabels_the_page_and_is_remembered(page: Page, live_url: str) -> None:
    page.goto(live_url + "/")
    assert page.locator("#ask-button").inner_text() == "提問"
    assert page.evaluate("document.documentElement.lang") == "zh-Hant"
    abstained = ask(page, ABSTAIN)
    assert abstained.locator(".answer-label").inner_text().endswith("文章沒有提到")

    page.locator("[data-lang-switch]").click()
    assert page.locator("#ask-button").inner_text() == "Ask"
    assert page.evaluate("document.documentElement.lang") == "en"
    assert (page.locator("#question").get_attribute("placeholder") or "").startswith("e.g.")
    assert abstained.locator(".answer-label").inner_text().endswith("Not in the article")
    assert page.locator("[data-lang-switch]").inner_text() == "中文"
    page.screenshot(path=SHOTS / "chat-english.png")

    page.reload()
    assert page.locator("#ask-button").inner_text() == "Ask"
    page.locator("[data-lang-switch]").click()
    assert page.locator("h1").inner_text() == "文章問答"


@pytest.mark.browser
def test_an_abstention_looks_different_from_an_answer(page: Page, live_url: str, client: httpx.Client) -> None:
    expected = api(client, ABSTAIN)
    assert expected["abstained"] is True and expected["reason"]
    page.goto(live_url + "/")
    answered = ask(page, QUESTION)
    abstained = ask(page, ABSTAIN)
    assert "abstained" in (abstained.get_attribute("class") or "")
    assert "abstained" not in (answered.get_attribute("class") or "")
    assert abstained.locator(".answer-label").inner_text().endswith("文章沒有提到")
    # ... and says why it did not answer; an answer has no such line
    # in the page's language (it was the service's English in the Chinese page), and again on a switch
    assert expected["reason"] == "the article does not mention 北韓"
    assert abstained.locator(".abstain-reason").inner_text() == "原因： 文章沒有提到北韓。"
    page.locator("[data-lang-switch]").click()
    assert abstained.locator(".abstain-reason").inner_text() == f"Why: {expected['reason']}"
    page.locator("[data-lang-switch]").click()
    assert answered.locator(".abstain-reason").count() == 0
    assert abstained.locator(".cite").count() == 0
    style = "e => [getComputedStyle(e).backgroundColor, getComputedStyle(e).borderTopStyle, getComputedStyle(e).color]"
    assert answered.evaluate(style) != abstained.evaluate(style)
    assert abstained.evaluate(style)[1] == "dashed"
    abstained.screenshot(path=SHOTS / "chat-abstained.png")


@pytest.mark.browser
def test_an_abstention_shows_the_closest_passage_marked_as_not_an_answer(
    page: Page, live_url: str, client: httpx.Client, article: str
) -> None:
    expected = api(client, ABSTAIN)
    assert expected["abstained"] and not expected["citations"] and expected["passages"]
    closest = expected["passages"][0]
    page.goto(live_url + "/")
    answered = ask(page, QUESTION)
    abstained = ask(page, ABSTAIN)
    assert answered.locator(".closest").count() == 0  # an answer shows its sources instead
    box = abstained.locator(".closest")
    expect(box.locator(".closest-label")).to_have_text("搜尋找到最接近的段落（不是回答）：")
    shown = box.locator(".quote").inner_text()
    assert shown.rstrip("…") and closest["text"].startswith(shown.rstrip("…")) and len(shown) <= 161
    box.locator(".closest-open").click()
    mark = page.locator("#source-body mark")
    mark.wait_for()
    assert mark.inner_text() == article[closest["start"] : closest["end"]]
    assert page.locator("#source-n").inner_text() == ""  # a passage, not a numbered citation
    abstained.screenshot(path=SHOTS / "chat-abstained-closest.png")


@pytest.mark.browser
def test_a_short_answer_shows_above_the_answer_and_only_when_given(
    page: Page, live_url: str, client: httpx.Client
) -> None:
    typed = "拜登在哪一年之前反對烏克蘭用西方武器打擊克里米亞？"  # asks for a date: the API gives a short answer
    expected = api(client, typed)["short_answer"]
    assert expected and expected["text"]
    assert api(client, QUESTION)["short_answer"] is None
    page.goto(live_url + "/")
    untyped = ask(page, QUESTION)
    answer = ask(page, typed)
    short = answer.locator(".short-answer")
    expect(short).to_have_text(expected["text"])
    box, text_box = short.bounding_box(), answer.locator(".answer-text").bounding_box()
    assert box is not None and text_box is not None and box["y"] < text_box["y"]  # above the cited sentence
    assert answer.evaluate("e => getComputedStyle(e.querySelector('.short-answer')).fontWeight") in ("700", "bold")
    assert untyped.locator(".short-answer").count() == 0
    # An English answer that opens by saying it in English (`Short answer: 100 to 150 [2].`) shows it once.
    english = "How many Gripen fighter jets does Ukraine plan to buy?"
    said = api(client, english)["short_answer"]["said"]
    assert said
    once = ask(page, english)
    expect(once.locator(".answer-text")).to_contain_text(f"Short answer: {said}")
    assert once.locator(".short-answer").count() == 0


@pytest.mark.browser
def test_markup_in_a_question_is_shown_as_text(page: Page, live_url: str) -> None:
    dialogs: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.goto(live_url + "/")
    answer = ask(page, HOSTILE)
    assert page.locator(".question-text").inner_text() == HOSTILE
    assert answer.locator(".answer-text").inner_text()  # answered (or abstained), not an error
    assert page.locator("img").count() == 0
    scripts = page.locator("script").evaluate_all("els => els.map(e => e.getAttribute('src'))")
    assert scripts == ["static/chat.js"]
    assert dialogs == []
    assert page.evaluate("window.__pwned") is None


@pytest.mark.browser
def test_a_follow_up_sends_the_conversation_so_far(page: Page, live_url: str, client: httpx.Client) -> None:
    bodies: list[Any] = []
    page.on("request", lambda r: bodies.append(r.post_data_json) if r.url.endswith("/ask/stream") else None)
    page.goto(live_url + "/")
    first = ask(page, QUESTION)
    second = ask(page, FOLLOW_UP)
    first_answer = api(client, QUESTION)["answer"]
    assert bodies[0] == {"question": QUESTION}
    assert bodies[1] == {"question": FOLLOW_UP, "history": [{"question": QUESTION, "answer": first_answer}]}
    follow = api(client, FOLLOW_UP, [{"question": QUESTION, "answer": first_answer}])
    assert second.locator(".answer-text").inner_text() == follow["answer"]
    assert first.locator(".answer-text").inner_text() == first_answer  # the conversation stays on the page
    assert page.locator(".turn").count() == 2


@pytest.mark.browser
def test_copy_puts_the_answer_and_its_sources_on_the_clipboard(
    browser: Browser, problems: list[str], live_url: str, client: httpx.Client
) -> None:
    expected = api(client, QUESTION)
    page = open_page(browser, problems, permissions=["clipboard-read", "clipboard-write"])
    try:
        page.goto(live_url + "/")
        answer = ask(page, QUESTION)
        answer.locator("button.copy").click()
        expect(answer.locator(".copy-note")).to_have_text("已複製")
        copied = page.evaluate("navigator.clipboard.readText()")
    finally:
        page.context.close()
    sources = "\n".join(f"[{c['n']}] {c['quote']}" for c in expected["citations"])
    assert copied == f"{expected['answer']}\n\n{sources}"
    assert problems == []


@pytest.mark.browser
def test_a_phone_sized_screen_still_works(browser: Browser, problems: list[str], live_url: str) -> None:
    page = open_page(browser, problems, viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    try:
        page.goto(live_url + "/")
        answer = ask(page, QUESTION)
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        answer.locator(".answer-text .cite").first.tap()
        mark = page.locator("#source-body mark")
        mark.wait_for()
        assert in_viewport(page, mark)
        box = page.locator("#source-panel").bounding_box()
        assert box is not None and box["width"] <= 375 and box["y"] + box["height"] <= 740 + 1
        page.screenshot(path=SHOTS / "chat-phone.png")
        page.locator("#source-close").tap()
        assert page.locator("#source-panel").is_hidden()
    finally:
        page.context.close()
    assert problems == []


@pytest.mark.browser
def test_the_article_view_opens_at_the_highlighted_quote(
    page: Page, live_url: str, client: httpx.Client, article: str
) -> None:
    citation = api(client, QUESTION)["citations"][0]
    page.goto(f"{live_url}/article?doc={citation['doc']}#c-{citation['start']}-{citation['end']}")
    mark = page.locator("mark")
    mark.wait_for()
    assert mark.count() == 1 and mark.inner_text() == citation["quote"]
    assert in_viewport(page, mark)
    assert mark.get_attribute("id") == f"c-{citation['start']}-{citation['end']}"
    # every paragraph carries its own offsets as its anchor, and its text is exactly the source there
    spans = page.locator(".para").evaluate_all("els => els.map(e => [e.id, e.querySelector('.para-text').textContent])")
    assert len(spans) > 20
    for anchor, text in spans:
        start, end = map(int, anchor.removeprefix("p-").split("-"))
        assert article[start:end] == text
    page.screenshot(path=SHOTS / "article-highlight.png")

    page.evaluate("location.hash = '#c-0-1'")  # a new quote replaces the old highlight
    page.wait_for_function("document.querySelectorAll('mark').length === 0")


@pytest.mark.browser
def test_the_article_view_without_a_document_shows_the_first(page: Page, live_url: str, client: httpx.Client) -> None:
    first = client.get("/documents").json()["documents"][0]
    page.goto(live_url + "/article")
    page.locator(".para").first.wait_for()
    assert page.locator("#article-title").inner_text() == (first["title"] or first["id"])


@pytest.mark.browser
def test_an_unknown_document_shows_the_api_message(browser: Browser, problems: list[str], live_url: str) -> None:
    page = open_page(browser, problems)
    try:
        page.goto(live_url + "/article?doc=nope")
        expect(page.locator("#article-error")).to_have_text("no document with id 'nope'")
    finally:
        page.context.close()
    assert problems and all("404" in p for p in problems)


@pytest.mark.browser
def test_errors_and_broken_streams_show_a_message(browser: Browser, problems: list[str], live_url: str) -> None:
    page = open_page(browser, problems)
    replies = iter(
        [
            {"status": 503, "json": {"error": {"code": "not_ready", "message": "the index is still loading"}}},
            {"status": 200, "content_type": "text/event-stream", "body": 'event: delta\ndata: {"text": "半句"}\n\n'},
        ]
    )
    page.route("**/ask/stream", lambda route: route.fulfill(**next(replies)))
    try:
        page.goto(live_url + "/")
        failed = ask(page, QUESTION)
        assert "error" in (failed.get_attribute("class") or "") and failed.get_attribute("role") == "alert"
        assert failed.locator(".answer-text").inner_text() == "問答服務正在載入，請稍後再試。"  # not_ready, said here
        cut = ask(page, QUESTION)
        assert cut.locator(".answer-text").inner_text() == "連線中斷，沒有收到完整回答。"
        page.locator("[data-lang-switch]").click()
        assert cut.locator(".answer-label").inner_text() == "Something went wrong"
        assert failed.locator(".answer-text").inner_text() == "The Q&A service is still loading; try again shortly."
    finally:
        page.context.close()
    assert problems and all("503" in p for p in problems)


CONTRAST = """els => els.map(e => {
    const rgb = s => s.match(/[\\d.]+/g).map(Number);
    const lum = c => {
        const linear = v => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
        const [r, g, b] = c.slice(0, 3).map(linear);
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    let n = e, bg = [255, 255, 255];
    while (n && n.nodeType === 1) {
        const c = rgb(getComputedStyle(n).backgroundColor);
        if (c.length < 4 || c[3] > 0) { bg = c; break; }
        n = n.parentElement;
    }
    const [a, b] = [lum(rgb(getComputedStyle(e).color)), lum(bg)].sort((x, y) => y - x);
    return [e.className || e.tagName, (a + 0.05) / (b + 0.05)];
})"""


@pytest.mark.browser
def test_text_has_readable_contrast(page: Page, live_url: str) -> None:
    page.goto(live_url + "/")
    ask(page, QUESTION)
    ask(page, ABSTAIN)
    page.locator(".answer-text .cite").first.click()
    page.locator("#source-body mark").wait_for()
    selectors = ".bar-title, .bar-link, .lang-switch, .question-text, .who, .answer-text, .answer-label, .cite, "
    selectors += ".sources q, .copy, .ask-button, .hint, #source-body p, mark, .source-doc, .source-link"
    ratios = page.locator(selectors).evaluate_all(CONTRAST)
    assert len(ratios) >= 16
    low = [(name, round(ratio, 2)) for name, ratio in ratios if ratio < 4.5]
    assert low == []


class GatedEngine:
    """Streams a draft, waits for the test's signal, then sends the real answer as final."""

    def __init__(self, inner: Engine, gate: threading.Event) -> None:
        self.inner, self.gate = inner, gate

    async def ask(self, question: str, *, top_k: int, history: Sequence[Turn] = (), docs: Docs = None) -> Answer:
        return await self.inner.ask(question, top_k=top_k, history=history)

    async def stream(
        self, question: str, *, top_k: int, history: Sequence[Turn] = (), docs: Docs = None
    ) -> AsyncGenerator[Event, None]:
        answer = await self.inner.ask(question, top_k=top_k, history=history)
        yield Event("passages", passages=answer.passages)
        yield Event("delta", text=DRAFT)
        await anyio.to_thread.run_sync(self.gate.wait, 20)
        yield Event("delta", text="……")
        yield Event("final", answer=answer)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.browser
def test_streamed_text_shows_then_the_final_answer_replaces_it(
    page: Page, settings: Settings, pipeline: Pipeline, client: httpx.Client
) -> None:
    gate = threading.Event()
    app = build_app(settings, pipeline=replace(pipeline, engine=GatedEngine(pipeline.engine, gate)))
    with serve(app) as url:
        page.goto(url + "/")
        page.locator("#question").fill(QUESTION)
        page.locator("#question").press("Enter")
        streaming = page.locator(".answer.streaming .answer-text")
        streaming.wait_for()
        assert streaming.inner_text() == DRAFT
        # labelled a draft until checked (it showed under "searching the article…", as if it were the answer)
        assert page.locator(".answer.streaming .answer-label").inner_text() == "草稿，正在核對原文…"
        gate.set()
        page.locator(".answer:not(.pending)").wait_for()
    assert page.locator(".answer-text").inner_text() == api(client, QUESTION)["answer"]
    assert DRAFT not in page.locator(".answer").inner_text()
    assert "草稿" not in page.locator(".answer").inner_text()  # nor the draft's label


def host_app(qa_url: str) -> FastAPI:
    """A page on another origin that carries the widget tag, and one that tries to frame the chat page."""
    app = FastAPI()

    @app.get("/")
    def home() -> HTMLResponse:
        return HTMLResponse(
            '<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">'
            "<title>Host</title></head>"
            "<body><h1>Someone else's news site</h1><p>Their own text.</p>"
            f'<script src="{qa_url}/widget.js" data-lang="zh"></script></body></html>'
        )

    @app.get("/story")
    def story(doc: str) -> HTMLResponse:
        """A news story that embeds a chat about one article (data-doc, attribute-escaped as a host would)."""
        return HTMLResponse(
            '<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">'
            "<title>Story</title></head><body><h1>A story</h1>"
            f'<script src="{qa_url}/widget.js" data-lang="zh" data-doc="{html.escape(doc)}"></script></body></html>'
        )

    @app.get("/hostile")
    def hostile() -> HTMLResponse:
        """A page whose own CSS would catch the widget's element: made the containing block of its fixed button and
        panel (the open panel was drawn above the window), clipped to nothing, or hidden."""
        rules = (
            "body > * { transform: translateZ(0) !important; will-change: transform; contain: paint !important; }"
            " div, article-qa-widget { display: none !important; } * { opacity: 0.99; }"
        )
        return HTMLResponse(
            '<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">'
            f"<title>Hostile</title><style>{rules}</style></head><body><h1>Styled</h1>"
            f'<script src="{qa_url}/widget.js" data-lang="zh"></script></body></html>'
        )

    @app.get("/two")
    def two(first: str, second: str) -> HTMLResponse:
        """A page with two widget tags, loaded async (either may run first)."""
        tags = "".join(
            f'<script src="{qa_url}/widget.js" data-lang="zh" data-doc="{html.escape(doc)}" async></script>'
            for doc in (first, second)
        )
        return HTMLResponse(
            '<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">'
            f"<title>Two</title></head><body><h1>Two tags</h1>{tags}</body></html>"
        )

    @app.get("/framed")
    def framed() -> HTMLResponse:
        return HTMLResponse(
            f'<!doctype html><link rel="icon" href="data:,"><iframe id="chat" src="{qa_url}/"></iframe>'
        )

    return app


@pytest.fixture(scope="module")
def widget_site(settings: Settings, pipeline: Pipeline) -> Iterator[tuple[str, str]]:
    """(QA service that lets the host embed /embed, the host page's origin)."""
    port = free_port()
    host = f"http://127.0.0.1:{port}"
    qa_app = build_app(configured(settings, **{"allowed_origins": [host]}), pipeline=pipeline)
    with serve(qa_app) as qa_url, serve(host_app(qa_url), port=port):
        yield qa_url, host


@pytest.mark.browser
def test_the_widget_opens_and_answers_on_another_origin(
    page: Page, widget_site: tuple[str, str], client: httpx.Client
) -> None:
    qa_url, host = widget_site
    assert csp(httpx.get(qa_url + "/embed").headers)["frame-ancestors"] == host
    expected = api(client, QUESTION)
    page.goto(host + "/")
    button = page.locator("[data-article-qa-widget] button")
    assert button.get_attribute("aria-expanded") == "false"
    button.click()
    assert button.get_attribute("aria-expanded") == "true"
    assert page.locator("iframe.article-qa-frame").get_attribute("src") == qa_url + "/embed?hl=zh"
    chat = page.frame_locator("iframe.article-qa-frame")
    asked_as_the_api(page, expected, scope=chat)
    assert chat.locator("#source-body mark").inner_text() == expected["citations"][0]["quote"]
    page.screenshot(path=SHOTS / "widget-open.png")

    chat.locator("#embed-close").click()  # the frame asks its host to close it
    page.locator("iframe.article-qa-frame").wait_for(state="hidden")
    assert button.get_attribute("aria-expanded") == "false"


PREFIX = "/news-qa"


def behind_prefix(upstream: str) -> Starlette:
    """A reverse proxy that serves upstream under PREFIX, as nginx's `location /news-qa/ { proxy_pass http://qa/;
    proxy_set_header Host $host; proxy_buffering off; }` does: the prefix is cut off before a request goes on (its
    Host header kept, its reply streamed back as it comes); anything outside the prefix is not the service's."""
    client = httpx.AsyncClient(base_url=upstream, timeout=30)

    async def forward(request: StarletteRequest) -> Response:
        path = request.url.path
        if not path.startswith(PREFIX + "/"):
            return PlainTextResponse("the host's own page", status_code=404)
        target = httpx.URL(path=path[len(PREFIX) :], query=request.url.query.encode())
        sent = client.build_request(request.method, target, headers=request.headers.raw, content=await request.body())
        reply = await client.send(sent, stream=True)
        hop = {"connection", "keep-alive", "transfer-encoding"}
        headers = {k: v for k, v in reply.headers.multi_items() if k.lower() not in hop}
        return StreamingResponse(
            reply.aiter_raw(), status_code=reply.status_code, headers=headers, background=BackgroundTask(reply.aclose)
        )

    return Starlette(routes=[Route("/{path:path}", forward, methods=["GET", "HEAD", "POST", "DELETE"])])


@pytest.mark.browser
def test_the_chat_and_the_widget_work_under_a_path_prefix(
    page: Page, settings: Settings, pipeline: Pipeline, client: httpx.Client
) -> None:
    # A newsroom serves the service at https://news.example/news-qa/ through its proxy: every address the pages and
    # scripts use is relative to the page, so the chat, its sources, the article view and the widget find the
    # service there (they asked /ask, /static/chat.js, /embed at the origin's root before: the proxy's 404s).
    expected = api(client, QUESTION)
    first = expected["citations"][0]
    port = free_port()
    host = f"http://127.0.0.1:{port}"
    qa_app = build_app(configured(settings, **{"allowed_origins": [host]}), pipeline=pipeline)
    with serve(qa_app) as qa_url, serve(behind_prefix(qa_url)) as proxy:
        base = proxy + PREFIX
        page.goto(base + "/")
        asked_as_the_api(page, expected)
        assert page.locator("#source-body mark").inner_text() == first["quote"]  # documents/ID, through the proxy
        page.locator("#source-link").click()
        page.wait_for_url(f"{base}/article?doc={first['doc']}#c-{first['start']}-{first['end']}")
        page.locator("mark").wait_for()
        assert page.locator("mark").inner_text() == first["quote"]
        page.locator("a.back").click()
        page.wait_for_url(base + "/")
        with QAClient(base) as api_client:  # an app takes the prefix in its base URL
            assert api_client.ask(QUESTION).answer == expected["answer"]

        # The widget on a news page, its script loaded from under the prefix: it frames the chat from there too.
        with serve(host_app(base), port=port):
            page.goto(host + "/")
            page.locator("[data-article-qa-widget] button").click()
            assert page.locator("iframe.article-qa-frame").get_attribute("src") == base + "/embed?hl=zh"
            chat = page.frame_locator("iframe.article-qa-frame")
            framed = ask(page, QUESTION, scope=chat)
            assert framed.locator(".answer-text").inner_text() == expected["answer"]
            expect(chat.locator("body")).to_have_class(re.compile(r"\bembed\b"))  # the compact chat


@pytest.mark.browser
def test_pages_refuse_to_be_framed_where_not_allowed(
    browser: Browser, problems: list[str], live_url: str, widget_site: tuple[str, str]
) -> None:
    _, host = widget_site
    page = open_page(browser, problems)
    try:

        def refused(message: ConsoleMessage) -> bool:
            return "frame-ancestors" in message.text

        with page.expect_console_message(refused, timeout=5000):
            page.goto(host + "/framed")  # the chat page may never be framed
        assert page.frame_locator("#chat").locator("#question").count() == 0
        with serve(host_app(live_url)) as other:  # a host the live server does not allow
            page.goto(other + "/")
            with page.expect_console_message(refused, timeout=5000):
                page.locator("[data-article-qa-widget] button").click()
            assert page.frame_locator("iframe.article-qa-frame").locator("#question").count() == 0
    finally:
        page.context.close()
    assert len([p for p in problems if "frame-ancestors" in p]) == 2, problems


# ---- with API keys set: the pages carry their own page session (qa.server.session) ----


@pytest.fixture(scope="module")
def keyed_site(settings: Settings, pipeline: Pipeline) -> Iterator[tuple[str, str]]:
    """(QA service with API and admin keys, the origin of a host page that may embed it, on another site)."""
    port = free_port()
    host = f"http://localhost:{port}"  # localhost is another site than 127.0.0.1: the frame is cross-site
    keyed = configured(settings, api_keys=["k"], admin_keys=["a"], allowed_origins=[host])
    with serve(build_app(keyed, pipeline=pipeline)) as qa_url, serve(host_app(qa_url), port=port):
        yield qa_url, host


def sent_headers(page: Page, path: str) -> list[dict[str, str]]:
    """Collects the headers of the page's requests to path (filled in as they are sent)."""
    found: list[dict[str, str]] = []
    page.on("request", lambda r: found.append(r.headers) if r.url.split("?")[0].endswith(path) else None)
    return found


@pytest.mark.browser
def test_with_api_keys_the_chat_page_answers_with_citations(
    page: Page, keyed_site: tuple[str, str], client: httpx.Client
) -> None:
    qa_url, _ = keyed_site
    assert httpx.post(qa_url + "/ask", json={"question": QUESTION}).status_code == 401  # the API stays locked
    expected = api(client, QUESTION)
    tokens = sent_headers(page, "/page-token")
    page.goto(qa_url + "/")
    (cookie,) = page.context.cookies(qa_url)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["value"] != "k"
    asked_as_the_api(page, expected)
    expect(page.locator("#source-body mark")).to_have_text(expected["citations"][0]["quote"])
    expect(page.locator("#about-link")).not_to_be_empty()  # /documents answered too
    assert tokens == []  # the cookie was enough


@pytest.mark.browser
def test_with_api_keys_the_chat_page_answers_under_a_path_prefix(
    page: Page, keyed_site: tuple[str, str], client: httpx.Client
) -> None:
    # The page session's cookie and its same-origin check (Origin against Host) hold through the proxy.
    qa_url, _ = keyed_site
    expected = api(client, QUESTION)
    with serve(behind_prefix(qa_url)) as proxy:
        assert httpx.post(proxy + PREFIX + "/ask", json={"question": QUESTION}).status_code == 401
        page.goto(proxy + PREFIX + "/")
        asked_as_the_api(page, expected)
        expect(page.locator("#source-body mark")).to_have_text(expected["citations"][0]["quote"])


@pytest.mark.browser
def test_with_api_keys_the_article_view_loads_a_document(
    page: Page, keyed_site: tuple[str, str], client: httpx.Client
) -> None:
    qa_url, _ = keyed_site
    citation = api(client, QUESTION)["citations"][0]
    page.goto(f"{qa_url}/article?doc={citation['doc']}#c-{citation['start']}-{citation['end']}")
    expect(page.locator("mark")).to_have_text(citation["quote"])
    assert page.locator(".para").count() > 20
    page.goto(qa_url + "/article")
    page.locator(".para").first.wait_for()
    assert page.locator("#article-error").is_hidden()


@pytest.mark.browser
def test_with_api_keys_the_widget_answers_on_another_site(
    page: Page, keyed_site: tuple[str, str], client: httpx.Client
) -> None:
    qa_url, host = keyed_site
    expected = api(client, QUESTION)
    asked = sent_headers(page, "/ask/stream")
    page.goto(host + "/")
    page.locator("[data-article-qa-widget] button").click()
    chat = page.frame_locator("iframe.article-qa-frame")
    asked_as_the_api(page, expected, scope=chat)
    expect(chat.locator("#source-body mark")).to_have_text(expected["citations"][0]["quote"])
    # framed by another site, the chat holds no cookie; it sends the token it asked /page-token for
    assert page.context.cookies(qa_url) == []
    (headers,) = asked
    assert headers["x-page-token"].startswith("p1.") and "x-api-key" not in headers and "authorization" not in headers
    page.screenshot(path=SHOTS / "widget-with-keys.png")


@pytest.mark.browser
def test_with_api_keys_a_lost_session_is_renewed(
    browser: Browser, problems: list[str], keyed_site: tuple[str, str], client: httpx.Client
) -> None:
    qa_url, _ = keyed_site
    page = open_page(browser, problems)
    try:
        page.goto(qa_url + "/")
        page.context.clear_cookies()  # as when the cookie runs out while the page stays open
        answer = ask(page, QUESTION)
        assert answer.locator(".answer-text").inner_text() == api(client, QUESTION)["answer"]
    finally:
        page.context.close()
    assert problems and all("401" in p for p in problems)  # the first try; the renewed session then answered


# ---- many articles: the chat page's picker, the widget's data-doc ----

BRIEF_DOC = {
    "id": "eu-energy-brief",
    "title": "歐盟能源制裁簡報",
    "date": "2025-11-07",
    "text": "歐盟能源制裁簡報\n\n歐盟第19輪對俄制裁方案禁止俄羅斯液化天然氣進入歐洲市場，短期合約在六個月後停止，"
    "長期合約在2027年1月起終止。\n\n北歐國家另外要求限制俄羅斯影子船隊進入波羅的海港口。",
}
HOSTILE_DOC = 'x"><img src=x onerror="window.__pwned=1">'


@pytest.fixture(scope="module")
def two_articles(
    tmp_path_factory: pytest.TempPathFactory,
    settings: Settings,
    index_dir: Path,
    embedder: SentenceTransformerEmbedder,
) -> Iterator[tuple[str, str]]:
    """(QA service over the seed article and one more added through POST /documents, a host origin allowed to embed
    it). Asked QUESTION across both, the added brief answers; asked about the seed alone, the seed does."""
    folder = tmp_path_factory.mktemp("two-articles")
    shutil.copytree(index_dir, folder / "index")
    port = free_port()
    host = f"http://127.0.0.1:{port}"
    two = configured(
        settings,
        index_dir=folder / "index",
        library_dir=folder / "library",
        admin_keys=["admin-secret"],
        allowed_origins=[host],
    )
    app = build_app(two, pipeline=build_pipeline(two, embedder=embedder))
    with serve(app) as qa_url, serve(host_app(qa_url), port=port):
        added = httpx.post(
            qa_url + "/documents", json=BRIEF_DOC, headers={"Authorization": "Bearer admin-secret"}, timeout=60
        )
        assert added.status_code == 201, added.text
        yield qa_url, host


def scoped(qa_url: str, question: str, docs: Sequence[str] = ()) -> dict[str, Any]:
    """What the two-article service answers, across all documents or only those in docs."""
    body: dict[str, Any] = {"question": question, **({"docs": list(docs)} if docs else {})}
    reply = httpx.post(qa_url + "/ask", json=body, timeout=30)
    assert reply.status_code == 200, reply.text
    return reply.json()  # type: ignore[no-any-return]


def seed_of(qa_url: str) -> dict[str, Any]:
    documents = httpx.get(qa_url + "/documents").json()["documents"]
    assert {d["id"] for d in documents} >= {BRIEF_DOC["id"]} and len(documents) == 2
    seed: dict[str, Any] = next(d for d in documents if d["id"] != BRIEF_DOC["id"])
    return seed


def asked_bodies(page: Page) -> list[dict[str, Any]]:
    """The JSON bodies of the questions the page (or a frame in it) sends, filled in as they are sent."""
    bodies: list[dict[str, Any]] = []

    def sent(request: Request) -> None:
        if request.url.endswith("/ask/stream"):
            bodies.append(request.post_data_json or {})

    page.on("request", sent)
    return bodies


def cited_docs(scope: Page | FrameLocator, answer: Locator) -> set[str]:
    """The documents the rendered answer's citations open: each marker's source link names its document."""
    found: set[str] = set()
    for n in range(answer.locator(".sources .cite").count()):
        answer.locator(".sources .cite").nth(n).click()
        href = scope.locator("#source-link").get_attribute("href") or ""
        found.add(re.sub(r"^article\?doc=([^#]+)#.*$", r"\1", href))
        scope.locator("#source-close").click()
    return found


@pytest.mark.browser
def test_the_picker_asks_about_one_article_or_all(page: Page, two_articles: tuple[str, str]) -> None:
    qa_url, _ = two_articles
    seed = seed_of(qa_url)
    across = scoped(qa_url, QUESTION)
    about_seed = scoped(qa_url, QUESTION, [seed["id"]])
    assert {c["doc"] for c in across["citations"]} == {BRIEF_DOC["id"]}  # across both, the brief answers
    assert {c["doc"] for c in about_seed["citations"]} == {seed["id"]} and not about_seed["abstained"]
    bodies = asked_bodies(page)
    page.goto(qa_url + "/")
    picker = page.get_by_label("詢問範圍")
    expect(picker).to_be_visible()
    expect(page.locator("#doc-search")).to_be_hidden()  # two articles: a list, nothing to search
    expect(picker.locator("option")).to_have_text(["所有文章", seed["title"], BRIEF_DOC["title"]])
    expect(picker).to_have_value("")
    expect(page.locator("#intro-text")).to_contain_text("所有文章")

    picker.select_option(seed["id"])
    assert page.url == f"{qa_url}/?doc={seed['id']}"  # the choice can be linked
    answer = ask(page, QUESTION)
    assert bodies[-1]["docs"] == [seed["id"]]
    assert answer.locator(".answer-text").inner_text() == about_seed["answer"]
    assert cited_docs(page, answer) == {seed["id"]}
    expect(page.locator("#about-link")).to_have_text(seed["title"])
    assert page.locator("[data-article-link]").get_attribute("href") == f"article?doc={seed['id']}"
    page.screenshot(path=SHOTS / "chat-picker.png")

    picker.select_option("")  # back to all the articles
    expect(page.locator(".scope-change").last).to_have_text("以下的問題就所有文章作答")
    assert page.url == qa_url + "/"
    ratios = page.locator(".scope label, #doc-picker, .scope-change").evaluate_all(CONTRAST)
    assert len(ratios) == 3 and min(ratio for _, ratio in ratios) >= 4.5
    answer = ask(page, QUESTION)
    assert "docs" not in bodies[-1] and "history" not in bodies[-1]  # a new article starts a new conversation
    assert answer.locator(".answer-text").inner_text() == across["answer"]
    assert cited_docs(page, answer) == {BRIEF_DOC["id"]}

    page.goto(f"{qa_url}/?doc={seed['id']}")  # the link opens with the article picked
    expect(picker).to_have_value(seed["id"])
    page.locator("[data-lang-switch]").click()
    expect(page.get_by_label("Ask about").locator("option").first).to_have_text("All articles")
    answer = ask(page, QUESTION)
    assert bodies[-1]["docs"] == [seed["id"]]
    assert answer.locator(".answer-text").inner_text() == about_seed["answer"]


@pytest.mark.browser
def test_the_widget_with_data_doc_answers_from_that_article(page: Page, two_articles: tuple[str, str]) -> None:
    qa_url, host = two_articles
    seed = seed_of(qa_url)
    about_seed = scoped(qa_url, QUESTION, [seed["id"]])
    assert about_seed["answer"] != scoped(qa_url, QUESTION)["answer"]
    bodies = asked_bodies(page)
    page.goto(f"{host}/story?doc={seed['id']}")
    page.locator("[data-article-qa-widget] button").click()
    frame = page.locator("iframe.article-qa-frame")
    assert frame.get_attribute("src") == f"{qa_url}/embed?hl=zh&doc={seed['id']}"
    chat = page.frame_locator("iframe.article-qa-frame")
    expect(chat.locator("#about-link")).to_have_text(seed["title"])
    assert chat.locator("#scope").is_hidden()  # the host page chose the article; the reader does not pick
    answer = ask(page, QUESTION, scope=chat)
    assert answer.locator(".answer-text").inner_text() == about_seed["answer"]
    assert [b["docs"] for b in bodies] == [[seed["id"]]]
    assert cited_docs(chat, answer) == {seed["id"]}
    ask(page, FOLLOW_UP, scope=chat)  # every question, follow-ups too
    assert [b["docs"] for b in bodies] == [[seed["id"]], [seed["id"]]]
    page.screenshot(path=SHOTS / "widget-one-article.png")


@pytest.mark.browser
@pytest.mark.parametrize("doc", [HOSTILE_DOC, "not-in-the-archive"])
def test_a_widget_with_an_unknown_data_doc_says_so_and_asks_across_all(
    page: Page, two_articles: tuple[str, str], doc: str
) -> None:
    qa_url, host = two_articles
    across = scoped(qa_url, QUESTION)
    bodies = asked_bodies(page)
    page.goto(f"{host}/story?{httpx.QueryParams(doc=doc)}")
    page.locator("[data-article-qa-widget] button").click()
    chat = page.frame_locator("iframe.article-qa-frame")
    expect(chat.locator("#scope-notice")).to_have_text(f"找不到文章「{doc}」，改為就所有文章作答。")
    expect(chat.get_by_label("詢問範圍")).to_have_value("")  # two articles: the reader may still pick one
    assert chat.locator("#scope-notice").evaluate_all(CONTRAST)[0][1] >= 4.5
    answer = ask(page, QUESTION, scope=chat)
    assert answer.locator(".answer-text").inner_text() == across["answer"]
    assert len(bodies) == 1 and "docs" not in bodies[0]
    assert chat.locator("img").count() == 0 and page.locator("img").count() == 0
    assert page.evaluate("window.__pwned") is None
    assert page.frames[1].evaluate("window.__pwned") is None


# ---- an archive: more articles than a list shows well ----

POLAR_DOC = {
    "id": "polar-survey",
    "title": "格陵蘭北極熊調查",
    "text": "格陵蘭北極熊調查\n\n研究人員在格陵蘭東部的冰原上記錄到120隻北極熊，比十年前少了三成。",
}


@pytest.fixture(scope="module")
def many_articles(
    tmp_path_factory: pytest.TempPathFactory,
    settings: Settings,
    index_dir: Path,
    embedder: SentenceTransformerEmbedder,
) -> Iterator[str]:
    """A QA service over the seed article and eleven more: past the chat page's SEARCH_FROM (10)."""
    folder = tmp_path_factory.mktemp("many-articles")
    shutil.copytree(index_dir, folder / "index")
    many = configured(settings, index_dir=folder / "index", library_dir=folder / "library", admin_keys=["admin-secret"])
    app = build_app(many, pipeline=build_pipeline(many, embedder=embedder))
    with serve(app) as qa_url:
        briefs = [
            {"id": f"port-{n}", "title": f"港口簡報第{n}號", "text": f"港口簡報第{n}號\n\n碼頭工人罷工第{n}天。"}
            for n in range(10)
        ]
        for body in [POLAR_DOC, *briefs]:
            added = httpx.post(
                qa_url + "/documents", json=body, headers={"Authorization": "Bearer admin-secret"}, timeout=60
            )
            assert added.status_code == 201, added.text
        yield qa_url


@pytest.mark.browser
def test_in_an_archive_the_reader_finds_an_article_by_title(page: Page, many_articles: str) -> None:
    qa_url = many_articles
    listed = httpx.get(qa_url + "/documents").json()
    assert listed["total"] == 12
    bodies = asked_bodies(page)
    page.goto(qa_url + "/")
    picker, search = page.get_by_label("詢問範圍"), page.get_by_label("以標題搜尋文章")
    expect(search).to_be_visible()
    expect(picker.locator("option")).to_have_count(13)  # all articles, then each of the twelve

    search.fill("北極熊")  # a Traditional title, found from any script
    expect(picker.locator("option")).to_have_text(["所有文章", POLAR_DOC["title"]])
    picker.select_option(POLAR_DOC["id"])
    assert page.url == f"{qa_url}/?doc={POLAR_DOC['id']}"
    answer = ask(page, "格陵蘭東部記錄到多少隻北極熊？")
    assert bodies[-1]["docs"] == [POLAR_DOC["id"]]
    assert "120" in answer.locator(".answer-text").inner_text()

    search.fill("月球")  # nothing found: the chosen article stays, and the reader is told
    expect(picker.locator("option")).to_have_text(["所有文章", POLAR_DOC["title"], "沒有標題符合的文章"])
    expect(picker).to_have_value(POLAR_DOC["id"])
    search.fill("港口简报第3")  # Simplified finds the Traditional title
    expect(picker.locator("option")).to_have_text(["所有文章", POLAR_DOC["title"], "港口簡報第3號"])
    search.fill("")
    expect(picker.locator("option")).to_have_count(13)
    ratios = page.locator(".scope label, #doc-picker, #doc-search").evaluate_all(CONTRAST)
    assert len(ratios) == 3 and min(ratio for _, ratio in ratios) >= 4.5
    page.screenshot(path=SHOTS / "chat-archive-search.png")


# ---- from a review of the pages as a news site would use them ----


@pytest.mark.browser
def test_each_new_answer_shows_above_the_question_box(browser: Browser, problems: list[str], live_url: str) -> None:
    """From the third question on, the new answer sat under the question box (stuck to the window's bottom): the
    page only scrolled when the empty turn was added. Screen readers heard "answer ready" and never the answer."""
    page = open_page(browser, problems, viewport={"width": 1280, "height": 720})
    page.goto(live_url + "/")
    for question in [QUESTION, FOLLOW_UP, "烏克蘭打算購買多少架戰鬥機？", "特朗普為什麼取消布達佩斯的會晤？"]:
        answer = ask(page, question)
        top = answer.bounding_box()
        form = page.locator("#ask-form").bounding_box()
        assert top is not None and form is not None
        assert 0 <= top["y"] < form["y"], (question, top, form)
        status = page.locator("#status").text_content() or ""
        assert status.startswith("回答已完成") and answer.locator(".answer-text").inner_text()[:20] in status
    page.context.close()
    assert problems == []


@pytest.mark.browser
def test_a_question_that_fails_goes_back_in_the_box(browser: Browser, problems: list[str], live_url: str) -> None:
    """The box was emptied when a question was sent: one that failed (a 503, a 429, a lost connection) was gone."""
    page = open_page(browser, problems)
    page.route(
        "**/ask/stream",
        lambda route: route.fulfill(status=503, json={"error": {"code": "not_ready", "message": "loading"}}),
    )
    page.goto(live_url + "/")
    failed = ask(page, QUESTION)
    assert "error" in (failed.get_attribute("class") or "")
    assert page.locator("#question").input_value() == QUESTION
    page.context.close()
    assert problems and all("503" in p for p in problems)


@pytest.mark.browser
def test_an_answer_that_lands_after_the_article_changed_is_no_part_of_the_new_conversation(
    tmp_path: Path, page: Page, settings: Settings, index_dir: Path, embedder: SentenceTransformerEmbedder
) -> None:
    """Picking another article while an answer was on its way: the answer joined the new article's conversation, and
    the next question carried it as history (a follow-up about the other article)."""
    from qa.indexing.library import add_document
    from qa.indexing.sources import Sources
    from qa.indexing.store import load
    from qa.types import NewDocument

    shutil.copytree(index_dir, tmp_path / "index")
    two = configured(settings, index_dir=tmp_path / "index", library_dir=tmp_path / "library")
    sources = Sources(two.seeds_dir, two.library_dir)
    add_document(load(tmp_path / "index"), tmp_path / "index", sources, NewDocument(**BRIEF_DOC), embedder)
    pipeline = build_pipeline(two, embedder=embedder)
    gate = threading.Event()
    app = build_app(two, pipeline=replace(pipeline, engine=GatedEngine(pipeline.engine, gate)))
    bodies = asked_bodies(page)
    with serve(app) as url:
        seed = next(d["id"] for d in httpx.get(url + "/documents").json()["documents"] if d["id"] != BRIEF_DOC["id"])
        page.goto(f"{url}/?doc={seed}")
        page.locator("#question").fill(QUESTION)
        page.locator("#question").press("Enter")
        page.locator(".answer.streaming").wait_for()
        page.locator("#doc-picker").select_option(BRIEF_DOC["id"])
        gate.set()
        page.locator(".answer:not(.pending)").wait_for()
        ask(page, "短期合約何時停止？")
    assert [b.get("docs") for b in bodies] == [[seed], [BRIEF_DOC["id"]]]
    assert "history" not in bodies[1], bodies[1]


@pytest.mark.browser
def test_arrow_keys_on_the_picker_leave_one_note(page: Page, two_articles: tuple[str, str]) -> None:
    """Each arrow key on the picker changes the article: each added a note "From here on, answers come from …"."""
    qa_url, _ = two_articles
    page.goto(qa_url + "/")
    ask(page, QUESTION)
    page.locator("#doc-picker").focus()
    for _ in range(2):
        page.keyboard.press("ArrowDown")
    notes = page.locator(".scope-change")
    expect(notes).to_have_count(1)
    expect(notes).to_have_text(re.compile(BRIEF_DOC["title"]))


@pytest.mark.browser
def test_the_widget_is_drawn_whatever_the_page_styles(page: Page, widget_site: tuple[str, str]) -> None:
    """The widget's element was a plain div on the host page: `body > * { transform: … }` put its open panel above
    the window, `contain: paint` clipped its button to nothing, `div { display: none !important }` hid it."""
    _, host = widget_site
    page.goto(host + "/hostile")
    button = page.locator("[data-article-qa-widget] button")
    button.click()
    panel = page.locator("[data-article-qa-widget] .article-qa-panel")
    panel.wait_for()
    assert in_viewport(page, button) and in_viewport(page, panel)
    chat = page.frame_locator("iframe.article-qa-frame")
    expect(chat.locator("#question")).to_be_focused()  # opened from the keyboard, it takes what is typed next
    page.keyboard.type("北約")
    expect(chat.locator("#question")).to_have_value("北約")


@pytest.mark.browser
def test_a_widget_the_service_may_not_be_framed_by_says_so(
    browser: Browser, problems: list[str], widget_site: tuple[str, str]
) -> None:
    """A host origin missing from QA_ALLOWED_ORIGINS (or a host CSP without frame-src) showed a blank panel."""
    qa_url, _ = widget_site
    page = open_page(browser, problems)
    with serve(host_app(qa_url)) as elsewhere:  # an origin the service does not let frame /embed
        page.goto(elsewhere + "/")
        page.locator("[data-article-qa-widget] button").click()
        notice = page.locator("[data-article-qa-widget] [role=alert]")
        notice.wait_for(timeout=20_000)
        assert "QA_ALLOWED_ORIGINS" in notice.inner_text()
    page.context.close()
    assert problems  # the browser's own refusal of the frame


@pytest.mark.browser
def test_a_fixed_article_in_the_widget_is_not_offered_a_choice(page: Page, two_articles: tuple[str, str]) -> None:
    """With data-doc on a service of several articles, the intro said the reader could pick one; there is no picker."""
    qa_url, host = two_articles
    seed = seed_of(qa_url)
    page.goto(f"{host}/story?doc={seed['id']}")
    page.locator("[data-article-qa-widget] button").click()
    chat = page.frame_locator("iframe.article-qa-frame")
    expect(chat.locator("#about-link")).to_have_text(seed["title"])  # the list of articles has been read
    assert chat.locator("#intro-text").inner_text().startswith("就這篇文章提問")
    assert chat.locator("#scope").is_hidden()


@pytest.mark.browser
def test_the_readers_language_wins_over_the_pages(page: Page, widget_site: tuple[str, str]) -> None:
    """The widget's data-lang came before the reader's own choice, so switching to English lasted one page."""
    qa_url, host = widget_site
    for shown in ["English", "中文"]:  # the switch offers the other language: first Chinese, then English, is shown
        page.goto(host + "/")  # data-lang="zh"
        page.locator("[data-article-qa-widget] button").click()
        switch = page.frame_locator("iframe.article-qa-frame").locator("[data-lang-switch]")
        expect(switch).to_have_text(shown)
        if shown == "English":
            switch.click()  # the reader reads English
    page.goto(qa_url + "/?lang=zh")  # a link that asks for a language still gets it
    expect(page.locator("[data-lang-switch]")).to_have_text("English")


@pytest.mark.browser
def test_the_question_box_takes_what_the_service_takes_and_says_when_full(
    browser: Browser, problems: list[str], settings: Settings, pipeline: Pipeline
) -> None:
    """The box took 2,000 characters whatever QA_MAX_QUESTION_CHARS was (the service's English 422 came after the
    reader had written the rest), and cut a longer paste at 2,000 without a word."""
    app = build_app(
        configured(settings, max_question_chars=50, rate_limit_rps=0.02, rate_limit_burst=2), pipeline=pipeline
    )
    page = open_page(browser, problems)
    with serve(app) as url:
        page.goto(url + "/")
        box = page.locator("#question")
        assert box.get_attribute("maxlength") == "50"
        box.fill("北約" * 40)
        assert len(box.input_value()) == 50
        expect(page.locator("#ask-hint")).to_have_text("已達 50 字的上限")
        box.fill(QUESTION)
        expect(page.locator("#ask-hint")).to_have_text("按 Enter 送出，Shift + Enter 換行")
        # A 429 is said in the page's language, with the wait (the service's own words were English). The page and
        # its files are not counted: the bucket of two runs out on the questions (and the list of articles).
        texts = [ask(page, QUESTION).locator(".answer-text").inner_text() for _ in range(3)]
        assert re.fullmatch(r"提問太頻繁，請在 \d+ 秒後再試。", texts[-1]), texts
    page.context.close()
    assert problems and all("429" in p for p in problems)


@pytest.mark.browser
def test_of_two_widget_tags_the_first_mounts(browser: Browser, two_articles: tuple[str, str]) -> None:
    """Two async tags mounted one widget, whichever script ran first (three loads in four framed the second tag's
    article, for the helper who found it)."""
    qa_url, host = two_articles
    seed = seed_of(qa_url)["id"]
    for _ in range(4):
        problems: list[str] = []
        page = open_page(browser, problems)
        page.goto(f"{host}/two?{httpx.QueryParams(first=seed, second=BRIEF_DOC['id'])}")
        buttons = page.locator("[data-article-qa-widget] button")
        buttons.first.wait_for()
        page.wait_for_load_state("load")
        assert buttons.count() == 1
        buttons.click()
        assert page.locator("iframe.article-qa-frame").get_attribute("src") == f"{qa_url}/embed?hl=zh&doc={seed}"
        page.context.close()
