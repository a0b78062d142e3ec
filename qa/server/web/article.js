// The article view: the full text by paragraph (each with an anchor, #p-START-END); #c-START-END highlights a quote.
import { initLabels, onLangChange, t } from "./i18n.js";
import { fillParagraph, getJson, isHeading, loadDocument, paragraphs, slice } from "./source.js";

const $ = (id) => document.getElementById(id);
let current = null; // {doc, elements: Map "s-e" -> element}
let marked = [];

function showError(message) {
  $("article-title").removeAttribute("data-i18n");
  $("article-title").textContent = t("error");
  $("article-error").textContent = message;
  $("article-error").hidden = false;
}

function paragraphAnchor(id) {
  const a = document.createElement("a");
  a.className = "anchor";
  a.href = `#${id}`;
  a.textContent = "¶";
  a.dataset.i18nAriaLabel = "paragraphLink";
  a.setAttribute("aria-label", t("paragraphLink"));
  return a;
}

function fill(element, span, start = -1, end = -1) {
  const text = element.querySelector(".para-text");
  return fillParagraph(text, current.doc, span, start, end);
}

function pageTitle() {
  if (current) document.title = `${current.doc.title || current.doc.id} · ${t("articleTitle")}`;
}

function render(doc) {
  const title = $("article-title");
  title.removeAttribute("data-i18n");
  title.textContent = doc.title || doc.id;
  if (doc.date) {
    $("article-time").textContent = doc.date;
    $("article-time").dateTime = doc.date;
    $("article-date").hidden = false;
  }
  const body = $("article-body");
  const elements = new Map();
  current = { doc, elements };
  pageTitle();
  for (const span of paragraphs(doc)) {
    const [s, e] = span;
    const id = `p-${s}-${e}`;
    const element = document.createElement(isHeading(slice(doc, s, e)) ? "h2" : "p");
    element.id = id;
    element.className = "para";
    element.append(Object.assign(document.createElement("span"), { className: "para-text" }), paragraphAnchor(id));
    fill(element, span);
    elements.set(`${s}-${e}`, { element, span });
    body.append(element);
  }
}

/** Highlight the quote named by #c-START-END (and undo the last one). */
function highlight() {
  if (!current) return;
  for (const { element, span } of marked) fill(element, span);
  marked = [];
  const found = /^#c-(\d+)-(\d+)$/.exec(window.location.hash);
  if (!found) return;
  const [start, end] = [Number(found[1]), Number(found[2])];
  let first = null;
  for (const entry of current.elements.values()) {
    const [s, e] = entry.span;
    if (s >= end || e <= start) continue;
    const mark = fill(entry.element, entry.span, start, end);
    marked.push(entry);
    if (mark && !first) first = mark;
  }
  if (first) {
    first.id = `c-${start}-${end}`;
    first.tabIndex = -1;
    first.scrollIntoView({ block: "center" });
    first.focus({ preventScroll: true });
  }
}

const LISTED = 200;

async function chooseDocument() {
  const wanted = new URLSearchParams(window.location.search).get("doc");
  if (wanted) return wanted;
  // The first LISTED of an archive's articles (the chat page finds the others by title).
  const { documents, total = documents.length } = await getJson(`documents?limit=${LISTED}`);
  if (!documents.length) throw new Error(t("noDocuments"));
  if (documents.length > 1) {
    const list = $("doc-list-items");
    for (const d of documents) {
      const a = document.createElement("a");
      a.href = `article?doc=${encodeURIComponent(d.id)}`;
      a.textContent = d.title || d.id;
      const item = document.createElement("li");
      item.append(a);
      list.append(item);
    }
    if (total > documents.length) {
      const more = document.createElement("li");
      more.dataset.i18n = "moreArticles";
      more.dataset.n = String(total - documents.length);
      more.textContent = t("moreArticles", { n: more.dataset.n });
      list.append(more);
    }
    $("doc-list").hidden = false;
  }
  return documents[0].id;
}

async function init() {
  initLabels();
  onLangChange(pageTitle);
  try {
    const id = await chooseDocument();
    render(await loadDocument(id));
    highlight();
  } catch (error) {
    showError(error.message || t("networkError"));
  }
  window.addEventListener("hashchange", highlight);
}

init();
