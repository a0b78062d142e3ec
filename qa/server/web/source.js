// The source text: API calls, documents, paragraphs, and quotes marked in them.
// Offsets from the API count Unicode code points (Python str indices), so documents are kept as arrays of
// code points and sliced there, never with JavaScript's UTF-16 string indices.

/** An API failure with the message to show. */
export class ApiFailure extends Error {}

/** The error message of a failed response: the API's error.message, or the HTTP status. */
export async function failure(response) {
  let message = `HTTP ${response.status}`;
  try {
    const body = await response.json();
    if (body && body.error && typeof body.error.message === "string") message = body.error.message;
  } catch {
    // not the API's JSON; keep the status
  }
  return new ApiFailure(message);
}

/** GET a JSON resource of the API; throws ApiFailure with the API's message. */
export async function getJson(path) {
  const response = await fetch(path, { headers: { accept: "application/json" } });
  if (!response.ok) throw await failure(response);
  return response.json();
}

const documents = new Map();

/** A document with its text as code points (fetched once per page). */
export function loadDocument(id) {
  if (!documents.has(id)) {
    const loading = getJson(`/documents/${encodeURIComponent(id)}`).then((doc) => ({
      ...doc,
      chars: Array.from(doc.text),
    }));
    loading.catch(() => documents.delete(id)); // a failure is not cached
    documents.set(id, loading);
  }
  return documents.get(id);
}

/** The text between two code-point offsets. */
export function slice(doc, start, end) {
  return doc.chars.slice(start, end).join("");
}

const isSpace = (c) => /\s/u.test(c);

/** [start, end] of each non-blank line after body_start, trimmed (as the indexer cuts paragraphs). */
export function paragraphs(doc) {
  if (doc.paragraphs) return doc.paragraphs;
  const spans = [];
  const chars = doc.chars;
  let lineStart = doc.body_start;
  for (let i = doc.body_start; i <= chars.length; i++) {
    if (i < chars.length && chars[i] !== "\n") continue;
    let s = lineStart;
    let e = i;
    while (s < e && isSpace(chars[s])) s++;
    while (e > s && isSpace(chars[e - 1])) e--;
    if (e > s) spans.push([s, e]);
    lineStart = i + 1;
  }
  doc.paragraphs = spans;
  return spans;
}

/** The paragraphs that hold any of [start, end). */
export function paragraphsOf(doc, start, end) {
  return paragraphs(doc).filter(([s, e]) => s < end && e > start);
}

const CAPTION = /[（(]\s*[A-Za-z][A-Za-z .&/-]{1,40}[）)]\s*$/u;

/** A short line without clause punctuation is a section heading (the indexer's rule). */
export function isHeading(text) {
  const body = text.replace(/[？?！!]+$/u, "");
  return Array.from(text).length <= 30 && !/[，,。；;：:]/u.test(body) && !CAPTION.test(text);
}

/** Fill el with the paragraph [s, e) as text, the part inside [start, end) wrapped in <mark>. */
export function fillParagraph(el, doc, [s, e], start = -1, end = -1) {
  el.replaceChildren();
  const from = Math.max(s, start);
  const to = Math.min(e, end);
  if (from >= to) {
    el.append(slice(doc, s, e));
    return null;
  }
  const mark = document.createElement("mark");
  mark.textContent = slice(doc, from, to);
  el.append(slice(doc, s, from), mark, slice(doc, to, e));
  return mark;
}

/** The article view's address of a quote: it opens with the quote highlighted. */
export function quoteHref(doc, start, end) {
  return `/article?doc=${encodeURIComponent(doc)}#c-${start}-${end}`;
}
