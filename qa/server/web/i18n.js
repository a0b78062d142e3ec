// Labels in Traditional Chinese and English, and the switch between them (remembered in localStorage).
// Elements name their label: data-i18n (text), data-i18n-placeholder, data-i18n-aria-label, data-i18n-title;
// {n} in a label is filled from the element's data-n.

const LABELS = {
  zh: {
    title: "文章問答",
    articleTitle: "文章全文",
    skip: "跳到提問框",
    skipToArticle: "跳到文章",
    readArticle: "閱讀全文",
    langName: "中文",
    switchTo: "切換語言：English",
    conversation: "對話",
    intro: "就這篇文章提問：每個回答都標出原文出處，點選 [1] 之類的標記即可看到被引用的句子。",
    about: "文章：",
    questionLabel: "你的問題",
    placeholder: "例如：烏克蘭打算向哪個國家購買戰機？",
    ask: "提問",
    hint: "按 Enter 送出，Shift + Enter 換行",
    you: "你",
    answer: "回答",
    thinking: "正在查找文章…",
    drafting: "草稿，正在核對原文…",
    atLimit: "已達 {limit} 字的上限",
    rateLimited: "提問太頻繁，請在 {s} 秒後再試。",
    questionTooLong: "問題太長：最多 {limit} 字。",
    emptyQuestion: "請先輸入問題。",
    notReady: "問答服務正在載入，請稍後再試。",
    reasonNotMentioned: "文章沒有提到{what}。",
    reasonNoValue: "文章沒有寫出問題所問的{whatZh}。",
    reasonOnlyGiven: "文章沒有寫出問題本身提到以外的數值。",
    reasonTooLittle: "找到的段落與問題的關聯太少。",
    reasonNoMatch: "沒有段落與問題相符。",
    reasonWhole: "這個問題問的是整篇文章：請先選一篇文章。",
    notInArticle: "文章沒有提到",
    reason: "原因：",
    closest: "搜尋找到最接近的段落（不是回答）：",
    showPassage: "查看段落",
    error: "出錯了",
    sources: "出處",
    cite: "出處 {n}",
    copy: "複製回答",
    copied: "已複製",
    copyFailed: "無法複製",
    source: "原文出處",
    close: "關閉",
    closeWidget: "關閉問答視窗",
    openInArticle: "在全文中查看",
    backToChat: "← 回到問答",
    loading: "載入中…",
    interrupted: "連線中斷，沒有收到完整回答。",
    networkError: "無法連線到問答服務。",
    answerReady: "回答已完成",
    paragraphLink: "段落連結",
    date: "日期",
    documents: "文件",
    noDocuments: "還沒有文件。",
    introMany: "就文章提問：可以選一篇文章，或就所有文章提問。每個回答都標出原文出處，點選 [1] 之類的標記即可看到被引用的句子。",
    scopeLabel: "詢問範圍",
    allArticles: "所有文章",
    findArticle: "以標題搜尋文章",
    noArticleFound: "沒有標題符合的文章",
    moreArticles: "……還有 {n} 篇文章（可在問答頁以標題搜尋）",
    scopeOne: "以下的問題只就《{title}》作答",
    scopeAll: "以下的問題就所有文章作答",
    unknownDoc: "找不到文章「{doc}」，改為就所有文章作答。",
  },
  en: {
    title: "Article Q&A",
    articleTitle: "Full article",
    skip: "Skip to the question box",
    skipToArticle: "Skip to the article",
    readArticle: "Read the article",
    langName: "English",
    switchTo: "Switch language: 中文",
    conversation: "Conversation",
    intro: "Ask about the article: every answer cites the source; click a marker such as [1] to see the quoted words.",
    about: "Article: ",
    questionLabel: "Your question",
    placeholder: "e.g. When did the Xi–Trump meeting end?",
    ask: "Ask",
    hint: "Enter sends, Shift + Enter starts a new line",
    you: "You",
    answer: "Answer",
    thinking: "Searching the article…",
    drafting: "Draft, being checked against the article…",
    atLimit: "That is the limit of {limit} characters",
    rateLimited: "Too many questions; try again in {s} s.",
    questionTooLong: "The question is too long: {limit} characters at most.",
    emptyQuestion: "Type a question first.",
    notReady: "The Q&A service is still loading; try again shortly.",
    reasonNotMentioned: "the article does not mention {what}",
    reasonNoValue: "no passage holds the {what} the question asks for",
    reasonOnlyGiven: "no passage holds a value the question asks for beyond the ones it names",
    reasonTooLittle: "the passages found share too little with the question",
    reasonNoMatch: "no passage matches the question",
    reasonWhole: "the question asks what an article says as a whole: pick one article",
    notInArticle: "Not in the article",
    reason: "Why:",
    closest: "The closest passage the search found (not an answer):",
    showPassage: "Show the passage",
    error: "Something went wrong",
    sources: "Sources",
    cite: "Source {n}",
    copy: "Copy answer",
    copied: "Copied",
    copyFailed: "Could not copy",
    source: "Source",
    close: "Close",
    closeWidget: "Close the Q&A window",
    openInArticle: "Open in the article",
    backToChat: "← Back to Q&A",
    loading: "Loading…",
    interrupted: "The connection was interrupted before the answer was complete.",
    networkError: "Cannot reach the Q&A service.",
    answerReady: "Answer ready",
    paragraphLink: "Link to this paragraph",
    date: "Date",
    documents: "Documents",
    noDocuments: "No documents yet.",
    introMany:
      "Ask about the articles: pick one, or ask across all of them. Every answer cites the source; click a marker such as [1] to see the quoted words.",
    scopeLabel: "Ask about",
    allArticles: "All articles",
    findArticle: "Find an article by title",
    noArticleFound: "No article has that title",
    moreArticles: "… and {n} more articles (find them by title on the chat page)",
    scopeOne: "From here on, answers come from “{title}” only",
    scopeAll: "From here on, answers come from all articles",
    unknownDoc: "There is no article “{doc}” here; answering from all articles.",
  },
};

const STORAGE_KEY = "article-qa.lang";
const HTML_LANG = { zh: "zh-Hant", en: "en" };
const listeners = [];
let lang = null;

function stored() {
  try {
    return window.localStorage.getItem(STORAGE_KEY);
  } catch {
    return null; // storage can be blocked (private mode, third-party frames)
  }
}

function initial() {
  // ?lang= asks for a language (a link to the page in it); ?hl= only offers one (the widget's data-lang: the host
  // page's), after the reader's own choice, remembered.
  const params = new URLSearchParams(window.location.search);
  for (const choice of [params.get("lang"), stored(), params.get("hl")]) {
    if (choice && choice in LABELS) return choice;
  }
  return (navigator.language || "").toLowerCase().startsWith("zh") ? "zh" : "en";
}

/** The language in use: "zh" or "en". */
export function currentLang() {
  if (lang === null) lang = initial();
  return lang;
}

/** A label in the current language, with {name} filled from vars. */
export function t(key, vars = {}) {
  const text = LABELS[currentLang()][key] ?? LABELS.zh[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
}

/** Put the current labels on every labelled element under root. */
export function applyLabels(root = document) {
  document.documentElement.lang = HTML_LANG[currentLang()];
  const vars = (el) => ({ ...el.dataset }); // {n}, {title}, {doc} come from data-n, data-title, data-doc
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n, vars(el));
  for (const [attr, key] of [
    ["placeholder", "i18nPlaceholder"],
    ["aria-label", "i18nAriaLabel"],
    ["title", "i18nTitle"],
  ]) {
    for (const el of root.querySelectorAll(`[data-${key.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase())}]`)) {
      el.setAttribute(attr, t(el.dataset[key], vars(el)));
    }
  }
  for (const button of document.querySelectorAll("[data-lang-switch]")) {
    const other = currentLang() === "zh" ? "en" : "zh";
    button.textContent = LABELS[other].langName;
    button.lang = HTML_LANG[other];
    button.setAttribute("aria-label", t("switchTo"));
  }
}

/** Switch the language, remember it, relabel the page and tell the listeners. */
export function setLang(next) {
  if (!(next in LABELS)) return;
  lang = next;
  try {
    window.localStorage.setItem(STORAGE_KEY, next);
  } catch {
    // not remembered; the page still switches
  }
  applyLabels();
  for (const fn of listeners) fn(next);
}

/** Call fn(lang) after every switch. */
export function onLangChange(fn) {
  listeners.push(fn);
}

/** Label the page and make the [data-lang-switch] buttons work. */
export function initLabels() {
  applyLabels();
  for (const button of document.querySelectorAll("[data-lang-switch]")) {
    button.addEventListener("click", () => setLang(currentLang() === "zh" ? "en" : "zh"));
  }
}
