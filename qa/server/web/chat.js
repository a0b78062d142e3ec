// The chat: ask (streamed over /ask/stream), show cited answers, open a quote in its paragraph, copy, follow up.
// Everything from the user or the model goes into the page as text nodes, never as HTML.
import { applyLabels, initLabels, onLangChange, t } from "./i18n.js";
import {
  ApiFailure,
  apiFetch,
  failure,
  fillParagraph,
  getJson,
  loadDocument,
  paragraphsOf,
  quoteHref,
  useSessionToken,
} from "./source.js";

const MAX_HISTORY = 10;
// One page serves both the chat (/) and the compact chat that widget.js frames (/embed), at the root or under a
// path prefix (/news-qa/embed): every address below is relative to the page.
const embedded = /\/embed\/*$/.test(location.pathname);
if (embedded) {
  useSessionToken(); // framed by another site, the page-session cookie would be a third-party one
  document.body.classList.add("embed");
  document.querySelector(".skip-link")?.remove();
}
const history = []; // [{question, answer}] of the answered turns, oldest first
let conversation = 0; // counts the conversations: an answer that lands after the article changed joins none
let busy = false;
let activeMarker = null;
// The server's document-id pattern: an id from the address (?doc=, or the widget's data-doc) must match it before
// it is sent anywhere; it only ever reaches the page as text.
const DOC_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
let scope = null; // the id of the one document questions are about, or null: all of them
let known = new Map(); // id -> {id, title, ...} from GET /documents

const $ = (id) => document.getElementById(id);

function el(tag, { cls, text, i18n, attrs } = {}) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (i18n) {
    node.dataset.i18n = i18n;
    node.textContent = t(i18n);
  } else if (text !== undefined) {
    node.textContent = text;
  }
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
  return node;
}

function link(a) {
  if (embedded) {
    a.target = "_blank";
    a.rel = "noopener";
  }
  return a;
}

// ---- Server-Sent Events over fetch (EventSource cannot POST) ----

function parseEvent(block) {
  let event = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  return data.length ? { event, data: JSON.parse(data.join("\n")) } : null;
}

async function* events(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
    buffer = buffer.replace(/\r\n|\r(?=.)/gs, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = parseEvent(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
      if (event) yield event;
    }
    if (done) break;
  }
  const last = parseEvent(buffer);
  if (last) yield last;
}

/** Ask the service; onDelta(text) gets streamed text; resolves to the final /ask answer. */
async function request(body, onDelta) {
  const init = {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/event-stream" },
    body: JSON.stringify(body),
  };
  let response;
  try {
    response = await apiFetch("ask/stream", init);
    if (response.status === 404 || response.status === 405) {
      // no streaming route: ask for the whole answer
      response = await apiFetch("ask", { ...init, headers: { "content-type": "application/json" } });
      if (!response.ok) throw await failure(response);
      return response.json();
    }
  } catch (error) {
    throw error instanceof ApiFailure ? error : new ApiFailure(t("networkError"), "network");
  }
  if (!response.ok) throw await failure(response);
  try {
    for await (const { event, data } of events(response)) {
      if (event === "delta") onDelta(String(data.text ?? ""));
      else if (event === "final") return data;
      else if (event === "error") throw new ApiFailure(data.error?.message || t("interrupted"), data.error?.code);
    }
  } catch (error) {
    throw error instanceof ApiFailure ? error : new ApiFailure(t("interrupted"), "interrupted");
  }
  throw new ApiFailure(t("interrupted"), "interrupted");
}

// ---- One question and its answer ----

function answerText(container, answer) {
  const byN = new Map(answer.citations.map((c) => [c.n, c]));
  container.replaceChildren();
  let at = 0;
  for (const match of answer.answer.matchAll(/\[(\d+)\]/g)) {
    const citation = byN.get(Number(match[1]));
    if (!citation) continue; // a bracket that is not a citation stays text
    container.append(answer.answer.slice(at, match.index), marker(citation));
    at = match.index + match[0].length;
  }
  container.append(answer.answer.slice(at));
}

function marker(citation) {
  const button = el("button", {
    cls: "cite",
    text: `[${citation.n}]`,
    attrs: { type: "button", "aria-controls": "source-panel", "data-i18n-aria-label": "cite", "data-n": citation.n },
  });
  button.setAttribute("aria-label", t("cite", { n: citation.n }));
  button.addEventListener("click", () => showSource(citation, button));
  return button;
}

// An abstention still says where the search looked: the passage it found first, marked as not an answer, which the
// reader can open in its paragraph (a question worded differently from the article may have found the right one).
const CLOSEST_CHARS = 160;

function closestPassage(passage) {
  const box = el("div", { cls: "closest" });
  const open = el("button", {
    cls: "closest-open",
    i18n: "showPassage",
    attrs: { type: "button", "aria-controls": "source-panel" },
  });
  open.addEventListener("click", () => showSource({ doc: passage.doc, start: passage.start, end: passage.end }, open));
  const text = passage.text.length > CLOSEST_CHARS ? `${passage.text.slice(0, CLOSEST_CHARS)}…` : passage.text;
  box.append(el("p", { cls: "closest-label", i18n: "closest" }), el("q", { cls: "quote", text }), " ", open);
  return box;
}

function sourcesList(answer) {
  const list = el("ol", { cls: "sources", attrs: { "aria-label": t("sources"), "data-i18n-aria-label": "sources" } });
  for (const citation of answer.citations) {
    const item = el("li");
    item.append(marker(citation), " ", el("q", { cls: "quote", text: citation.quote }));
    list.append(item);
  }
  return list;
}

function copyText(answer) {
  const lines = answer.citations.map((c) => `[${c.n}] ${c.quote}`);
  return lines.length ? `${answer.answer}\n\n${lines.join("\n")}` : answer.answer;
}

async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // older browsers, or a frame without clipboard permission: a hidden selection
    const area = el("textarea", { attrs: { readonly: "", "aria-hidden": "true" } });
    area.value = text;
    area.className = "offscreen";
    document.body.append(area);
    area.select();
    const done = document.execCommand("copy");
    area.remove();
    return done;
  }
}

function copyButton(answer) {
  const tools = el("div", { cls: "answer-tools" });
  const button = el("button", { cls: "copy", i18n: "copy", attrs: { type: "button" } });
  const note = el("span", { cls: "copy-note", attrs: { role: "status" } });
  button.addEventListener("click", async () => {
    const done = await copy(copyText(answer));
    note.dataset.i18n = done ? "copied" : "copyFailed";
    note.textContent = t(note.dataset.i18n);
    setTimeout(() => {
      delete note.dataset.i18n;
      note.textContent = "";
    }, 2500);
  });
  tools.append(button, note);
  return tools;
}

/** Scroll a turn's newest part into view above the question box, which stays stuck to the window's bottom: the top
 * of an answer taller than the room left, the whole of a shorter one. */
function reveal(node) {
  const room = $("ask-form").getBoundingClientRect().top;
  const box = node.getBoundingClientRect();
  if (box.top >= 0 && box.bottom <= room) return;
  node.scrollIntoView({ block: box.height > room ? "start" : "nearest" });
}

/** Keep what the sticky question box covers out of what scrolling into view counts as visible. */
function padForQuestionBox() {
  const set = () => {
    document.documentElement.style.scrollPaddingBottom = `${$("ask-form").offsetHeight + 8}px`;
  };
  set();
  if (window.ResizeObserver) new ResizeObserver(set).observe($("ask-form"));
}

// The service's reasons for not answering, as the labels that say them in either language ({what}: a name, or the
// kind of value asked for); a reason not listed is shown as the service wrote it.
const REASONS = [
  [/^the article does not mention (.+)$/, "reasonNotMentioned"],
  [/^no passage holds the (.+) the question asks for$/, "reasonNoValue"],
  [/^no passage holds a value the question asks for beyond the ones it names$/, "reasonOnlyGiven"],
  [/^the passages found share too little with the question$/, "reasonTooLittle"],
  [/^no (?:passage|sentence) matches the question$/, "reasonNoMatch"],
  [/^the question asks what an article says as a whole/, "reasonWhole"],
];
const VALUE_KINDS = {
  number: "數字",
  "amount of money": "金額",
  "length of time": "時間長短",
  "month or day": "月份或日期",
  "kind of value": "那類數值",
  date: "日期",
  money: "金額",
  unit: "數量",
  percent: "百分比",
};

/** A reason's text, labelled so that it changes language with the page. */
function reasonNode(reason) {
  const node = el("span", { cls: "abstain-reason-text", text: reason });
  for (const [pattern, key] of REASONS) {
    const found = reason.match(pattern);
    if (!found) continue;
    const what = found[1] ?? "";
    if (key === "reasonNoValue" && !(what in VALUE_KINDS)) break;
    node.dataset.what = what;
    if (key === "reasonNoValue") node.dataset.whatZh = VALUE_KINDS[what];
    node.dataset.i18n = key;
    node.textContent = t(key, { what, whatZh: node.dataset.whatZh });
    break;
  }
  return node;
}

// The API's error codes the page says in its own words (the message the service wrote otherwise).
const ERRORS = {
  rate_limited: "rateLimited",
  question_too_long: "questionTooLong",
  empty_question: "emptyQuestion",
  not_ready: "notReady",
  network: "networkError",
  interrupted: "interrupted",
};

/** What to say of a failed question, labelled so that it changes language with the page. */
function failureText(node, error) {
  const key = error instanceof ApiFailure ? ERRORS[error.code] : "networkError";
  if (!key) {
    delete node.dataset.i18n;
    node.textContent = error.message;
    return;
  }
  node.dataset.i18n = key;
  if (error.retryAfter !== null && error.retryAfter !== undefined) node.dataset.s = String(error.retryAfter);
  const limit = /limit is (\d+)/.exec(error.message || "");
  if (limit) node.dataset.limit = limit[1];
  node.textContent = t(key, { ...node.dataset });
}

function addTurn(question) {
  const item = el("li", { cls: "turn" });
  const asked = el("div", { cls: "question" });
  asked.append(el("span", { cls: "who", i18n: "you" }), el("p", { cls: "question-text", text: question }));
  const reply = el("article", { cls: "answer pending", attrs: { "aria-busy": "true" } });
  const label = el("p", { cls: "answer-label", i18n: "thinking" });
  const text = el("p", { cls: "answer-text" });
  reply.append(label, text);
  item.append(asked, reply);
  $("conversation").append(item);
  $("intro").hidden = true;
  reveal(item);

  return {
    delta(piece) {
      const first = !reply.classList.contains("streaming");
      text.append(piece);
      reply.classList.add("streaming");
      if (first) {
        // An LLM's words as they come are a draft: checked against the article, they may be replaced in full.
        label.dataset.i18n = "drafting";
        label.textContent = t("drafting");
        reveal(item);
      }
    },
    finish(answer) {
      reply.classList.remove("pending", "streaming");
      reply.removeAttribute("aria-busy");
      reply.dataset.mode = answer.mode;
      if (answer.abstained) {
        reply.classList.add("abstained");
        delete label.dataset.i18n; // the label is now an icon and a labelled span
        label.replaceChildren(el("span", { cls: "icon", text: "⊘", attrs: { "aria-hidden": "true" } }));
        label.append(" ", el("span", { i18n: "notInArticle" }));
      } else {
        label.dataset.i18n = "answer";
        label.textContent = t("answer");
        label.classList.add("visually-hidden");
      }
      answerText(text, answer);
      if (answer.abstained && answer.reason) {
        // Why the service did not answer (the article does not mention X, no passage holds the date asked for, ...):
        // the reader can reword or ask about something else.
        const why = el("p", { cls: "abstain-reason" });
        why.append(el("span", { cls: "abstain-reason-label", i18n: "reason" }), " ");
        why.append(reasonNode(answer.reason));
        text.after(why);
      }
      if (answer.short_answer && !answer.abstained && !answer.short_answer.said) {
        // The value asked for (a date, number, name), quoted from a cited sentence: shown as text, in bold. An English
        // answer that opens by saying it in English (`Short answer: October 30 [1].`) is not given it a second time.
        text.before(el("p", { cls: "short-answer", text: answer.short_answer.text }));
      }
      if (answer.citations.length) reply.append(sourcesList(answer));
      else if (answer.abstained && answer.passages?.length) reply.append(closestPassage(answer.passages[0]));
      reply.append(copyButton(answer));
      reveal(reply);
    },
    fail(error) {
      reply.classList.remove("pending", "streaming");
      reply.classList.add("error");
      reply.removeAttribute("aria-busy");
      reply.setAttribute("role", "alert");
      label.dataset.i18n = "error";
      label.textContent = t("error");
      text.replaceChildren();
      failureText(text, error);
      reveal(reply);
    },
  };
}

async function ask(question) {
  busy = true;
  $("ask-button").disabled = true;
  const turn = addTurn(question);
  await scopeReady; // a question asked while the page loads waits to know which article it is about
  const asked = conversation;
  const body = { question };
  if (scope) body.docs = [scope];
  if (history.length) body.history = history.slice(-MAX_HISTORY);
  try {
    const answer = await request(body, (piece) => turn.delta(piece));
    turn.finish(answer);
    // A follow-up is about this answer only while the conversation it was asked in goes on (the article can change
    // while it is on its way).
    if (asked === conversation) history.push({ question, answer: answer.answer });
    // Said to screen readers once it is whole (the streamed text is not announced piece by piece).
    $("status").textContent = `${t("answerReady")}: ${answer.answer.slice(0, 600)}`;
  } catch (error) {
    turn.fail(error);
    // The question is not lost: back in the box, unless another is being written there.
    const box = $("question");
    if (!box.value.trim()) box.value = question;
  } finally {
    busy = false;
    $("ask-button").disabled = false;
  }
}

// ---- The source panel: the cited words highlighted in their paragraph ----

async function showSource(citation, button) {
  const panel = $("source-panel");
  activeMarker?.classList.remove("active");
  activeMarker = button;
  button.classList.add("active");
  $("source-n").textContent = citation.n ? `[${citation.n}]` : ""; // a passage shown after an abstention has none
  const body = $("source-body");
  body.replaceChildren(el("p", { i18n: "loading" }));
  $("source-doc").textContent = "";
  const sourceLink = link($("source-link"));
  sourceLink.href = quoteHref(citation.doc, citation.start, citation.end);
  panel.hidden = false;
  document.body.classList.add("panel-open");
  $("source-heading").focus({ preventScroll: true });
  try {
    const doc = await loadDocument(citation.doc);
    $("source-doc").textContent = doc.title || doc.id;
    const shown = paragraphsOf(doc, citation.start, citation.end).map((span) => {
      const p = el("p", { cls: "source-paragraph" });
      fillParagraph(p, doc, span, citation.start, citation.end);
      return p;
    });
    body.replaceChildren(...shown);
    body.querySelector("mark")?.scrollIntoView({ block: "nearest" });
  } catch (error) {
    body.replaceChildren(el("p", { cls: "error-box", text: error.message || t("networkError") }));
  }
}

function closeSource() {
  $("source-panel").hidden = true;
  document.body.classList.remove("panel-open");
  activeMarker?.classList.remove("active");
  activeMarker?.focus();
  activeMarker = null;
}

// ---- The page ----

// ---- Which article: the picker (GET /documents), ?doc=ID, or the widget's data-doc ----

function docName(doc) {
  return doc.title || doc.id;
}

/** The document the links and the "Article:" line name: the chosen one, or the only one. */
function namedDoc() {
  if (scope) return known.get(scope) ?? null;
  return known.size === 1 ? known.values().next().value : null;
}

function showAbout() {
  const doc = namedDoc();
  const href = doc ? `article?doc=${encodeURIComponent(doc.id)}` : "article"; // the article view lists them all
  const about = link($("about-link"));
  about.textContent = doc ? docName(doc) : "";
  about.href = href;
  $("about").hidden = !doc;
  for (const a of document.querySelectorAll("[data-article-link]")) link(a).href = href;
}

/** Tell the reader that the address named an article this service does not have. */
function showUnknown(wanted) {
  const chars = Array.from(wanted);
  const shown = chars.length > 60 ? `${chars.slice(0, 60).join("")}…` : wanted;
  const notice = $("scope-notice");
  notice.dataset.i18n = "unknownDoc";
  notice.dataset.doc = shown; // {doc} in the label, as text
  notice.textContent = t("unknownDoc", { doc: shown });
  notice.hidden = false;
}

// Articles listed at once; past SEARCH_FROM of them the reader finds one by title (GET /documents?q=).
const PAGE = 200;
const SEARCH_FROM = 10;

/** The picker's options: all articles, then these (and the chosen one, when a search left it out). */
function fillPicker(documents, { searched = false } = {}) {
  const picker = $("doc-picker");
  const all = new Option(t("allArticles"), "");
  all.dataset.i18n = "allArticles";
  const shown = [...documents];
  if (scope && !shown.some((d) => d.id === scope) && known.has(scope)) shown.unshift(known.get(scope));
  const options = shown.map((d) => new Option(docName(d), d.id));
  if (searched && !documents.length) {
    const none = new Option(t("noArticleFound"), "", false, false);
    none.disabled = true;
    none.dataset.i18n = "noArticleFound";
    options.push(none);
  }
  picker.replaceChildren(all, ...options);
  picker.value = scope ?? "";
}

let searching = 0; // the latest search: an answer to an older one is dropped

/** Refill the picker with the articles whose title (or id) holds the text; all of the first page without one. */
async function searchArticles(text) {
  const mine = ++searching;
  const query = text.trim() ? `&q=${encodeURIComponent(text.trim())}` : "";
  let documents;
  try {
    ({ documents } = await getJson(`documents?limit=${PAGE}${query}`));
  } catch {
    return; // the picker keeps what it shows
  }
  if (mine !== searching) return;
  for (const d of documents) known.set(d.id, d);
  fillPicker(documents, { searched: Boolean(query) });
}

function reflectInAddress() {
  if (embedded) return;
  const url = new URL(location.href);
  if (scope) url.searchParams.set("doc", scope);
  else url.searchParams.delete("doc");
  window.history.replaceState(window.history.state, "", url);
}

function changeScope(next) {
  if (next === scope) return;
  scope = next;
  history.length = 0; // a follow-up is about the article the conversation was about; start afresh
  conversation += 1;
  const doc = namedDoc();
  const note = el("li", { cls: "scope-change", attrs: { role: "note" } });
  note.dataset.i18n = scope ? "scopeOne" : "scopeAll";
  if (doc) note.dataset.title = docName(doc);
  note.textContent = t(note.dataset.i18n, { title: note.dataset.title });
  const last = $("conversation").lastElementChild;
  // Arrow keys on the picker change the article once a key: one note for the article finally picked.
  if (last?.classList.contains("scope-change")) last.replaceWith(note);
  else if (last) $("conversation").append(note);
  $("status").textContent = note.textContent;
  $("scope-notice").hidden = true;
  reflectInAddress();
  showAbout();
}

/** Read ?doc=ID and the document list; fill the picker. Never fails: without the list, ?doc=ID is used as is. */
async function loadScope() {
  const wanted = new URLSearchParams(location.search).get("doc") || "";
  if (DOC_ID.test(wanted)) scope = wanted;
  let documents;
  let total;
  try {
    ({ documents, total } = await getJson(`documents?limit=${PAGE}`));
    total ??= documents.length;
    if (scope && total > documents.length && !documents.some((d) => d.id === scope)) {
      // An article past the first page: look it up by its id.
      const found = await getJson(`documents?limit=${PAGE}&q=${encodeURIComponent(scope)}`);
      documents = [...documents, ...found.documents.filter((d) => d.id === scope)];
    }
  } catch {
    if (wanted && !scope) showUnknown(wanted);
    return; // the article link still opens the article view, which explains what went wrong
  }
  known = new Map(documents.map((d) => [d.id, d]));
  if (wanted && !known.has(wanted)) {
    scope = null; // an article this service does not have: answer from all of them rather than fail every question
    showUnknown(wanted);
  }
  // One document leaves nothing to choose; in the widget, an article the host page named stays fixed.
  const fixed = embedded && scope !== null;
  if (total > 1 && !fixed) $("intro-text").dataset.i18n = "introMany";
  $("intro-text").textContent = t($("intro-text").dataset.i18n);
  fillPicker(documents.slice(0, PAGE));
  $("scope").hidden = total < 2 || fixed;
  $("doc-search").hidden = total <= SEARCH_FROM;
  showAbout();
}

let scopeReady = Promise.resolve();

function init() {
  initLabels();
  onLangChange(() => applyLabels());
  const form = $("ask-form");
  const box = $("question");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const question = box.value.trim();
    if (!question || busy) return;
    box.value = "";
    ask(question);
  });
  box.addEventListener("input", () => {
    // A question cut at the box's limit (a long paste) says so, not silently.
    const hint = $("ask-hint");
    const full = box.maxLength > 0 && box.value.length >= box.maxLength;
    hint.dataset.i18n = full ? "atLimit" : "hint";
    hint.dataset.limit = String(box.maxLength);
    hint.textContent = t(hint.dataset.i18n, { limit: box.maxLength });
  });
  box.addEventListener("keydown", (event) => {
    // Enter sends; Shift+Enter is a new line; Enter that ends an IME composition only picks the characters.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  $("source-close").addEventListener("click", closeSource);
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    if (!$("source-panel").hidden) closeSource();
    else if (embedded && window.parent !== window) window.parent.postMessage({ type: "article-qa:close" }, "*");
  });
  if (embedded && window.parent !== window) {
    const close = $("embed-close");
    close.hidden = false;
    close.addEventListener("click", () => window.parent.postMessage({ type: "article-qa:close" }, "*"));
  }
  for (const a of document.querySelectorAll("a[href]")) link(a);
  $("doc-picker").addEventListener("change", (event) => changeScope(event.target.value || null));
  let typing = null;
  $("doc-search").addEventListener("input", (event) => {
    clearTimeout(typing);
    typing = setTimeout(() => searchArticles(event.target.value), 250);
  });
  scopeReady = loadScope();
  // The page starts with the question box disabled (index.html): it takes questions from now on.
  box.disabled = false;
  $("ask-button").disabled = false;
  padForQuestionBox();
  // The widget makes its frame when the reader opens it: the box takes what they type next.
  box.focus();
  if (embedded && window.parent !== window) window.parent.postMessage({ type: "article-qa:ready" }, "*");
}

init();
