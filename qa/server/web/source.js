// The source text: API calls, documents, paragraphs, and quotes marked in them.
// Offsets from the API count Unicode code points (Python str indices), so documents are kept as arrays of
// code points and sliced there, never with JavaScript's UTF-16 string indices.

/** An API failure with the message to show, the API's error code and, for a 429, the seconds to wait. */
export class ApiFailure extends Error {
  constructor(message, code = null, retryAfter = null) {
    super(message);
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/** The error of a failed response: the API's error.message and code, or the HTTP status. */
export async function failure(response) {
  let message = `HTTP ${response.status}`;
  let code = null;
  try {
    const body = await response.json();
    if (body && body.error && typeof body.error.message === "string") message = body.error.message;
    if (body && body.error && typeof body.error.code === "string") code = body.error.code;
  } catch {
    // not the API's JSON; keep the status
  }
  const wait = Number.parseInt(response.headers.get("Retry-After") || "", 10);
  return new ApiFailure(message, code, Number.isFinite(wait) ? wait : null);
}

// ---- The page session: what the pages carry instead of an API key when the service has keys ----
// The chat page and the article view get it as a cookie when they load. The embedded chat cannot (framed by another
// site, a cookie would be a third-party one, which browsers drop), so it asks /page-token for one and sends it as
// X-Page-Token. Either page renews a session that ran out (401) once and tries again.

let session = null; // a promise of {token, until}; token is null when the service needs none
let tokenFirst = false;

/** Send a page-session token with every API call (the embedded chat), rather than rely on the cookie. */
export function useSessionToken() {
  tokenFirst = true;
}

async function newSession() {
  const response = await fetch("page-token", { method: "POST", headers: { accept: "application/json" } });
  if (!response.ok) throw await failure(response);
  const { token, expires_in: lifetime } = await response.json();
  return { token: token || null, until: token ? Date.now() + Math.max(0, lifetime - 30) * 1000 : Infinity };
}

async function sessionToken(renew) {
  if (session && !renew) {
    const current = await session.catch(() => null);
    if (current && Date.now() < current.until) return current.token;
  }
  session = newSession();
  return (await session).token;
}

/** fetch() for the API: with the page session's token when there is one; renewed once on a 401. */
export async function apiFetch(path, init = {}) {
  const send = (token) => fetch(path, token ? { ...init, headers: { ...init.headers, "x-page-token": token } } : init);
  const response = await send(tokenFirst || session ? await sessionToken(false) : null);
  if (response.status !== 401) return response;
  return send(await sessionToken(true));
}

/** GET a JSON resource of the API; throws ApiFailure with the API's message. */
export async function getJson(path) {
  const response = await apiFetch(path, { headers: { accept: "application/json" } });
  if (!response.ok) throw await failure(response);
  return response.json();
}

const documents = new Map();

/** A document with its text as code points (fetched once per page). */
export function loadDocument(id) {
  if (!documents.has(id)) {
    const loading = getJson(`documents/${encodeURIComponent(id)}`).then((doc) => ({
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
  return `article?doc=${encodeURIComponent(doc)}#c-${start}-${end}`;
}
