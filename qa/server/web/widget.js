// The embeddable widget. One tag on any page:
//   <script src="https://qa.example.org/widget.js" data-lang="zh" data-doc="ARTICLE-ID" async></script>
// adds a floating button; it opens the compact chat (/embed, next to this script) in a frame. With data-doc, every
// question is about that one article (/embed?doc=ID); without it, about all of them.
// Styles are set through element.style (allowed by any host CSP) inside a shadow root, so the host's CSS and
// the widget's do not meet; nothing is read from or written to the host page beyond the button itself. Its host
// element is one of its own (<article-qa-widget>, which no `div` rule reaches) whose inline !important styles keep
// any rule of the page (`* { transform: … }`, `display: none !important`) from hiding it or from becoming what its
// fixed button and panel are placed against. The service is served at its origin's root (the chat's pages call
// /ask/stream, /documents, /static/… from there). One widget a page: the first tag in the page's order; another is
// ignored, with a warning.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src) return;
  // The first tag in the page's order mounts, whichever an async load ran first (it was random with two).
  var tags = document.querySelectorAll("script[src]");
  var first = null;
  for (var i = 0; i < tags.length && first === null; i++) {
    if (tags[i].src === script.src) first = tags[i];
  }
  if (window.__articleQaWidget || (first !== null && first !== script)) {
    console.warn("article-qa widget: one widget a page; this tag (" + script.src + ") is ignored");
    return;
  }
  window.__articleQaWidget = true;

  var lang = script.getAttribute("data-lang") === "en" ? "en" : "zh";
  var embed = new URL("embed", script.src);
  // The page's language is the chat's first language only: a reader's own choice, remembered, comes first.
  var query = new URLSearchParams({ hl: lang });
  var doc = (script.getAttribute("data-doc") || "").trim();
  if (doc) {
    // The chat checks the id again and says so when it does not know it; here it only travels URL-encoded.
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(doc)) {
      console.warn("article-qa widget: data-doc is not a valid document id; the chat answers from all articles");
    }
    query.set("doc", doc.slice(0, 200));
  }
  embed.search = query.toString();
  var label = lang === "en" ? "Ask about the article" : "文章問答";
  var closeLabel = lang === "en" ? "Close the Q&A window" : "關閉問答視窗";
  var blocked =
    lang === "en"
      ? "The Q&A could not be loaded on this page. The site's settings may not allow it (its Content-Security-Policy " +
        "frame-src, or the service's QA_ALLOWED_ORIGINS)."
      : "無法在此頁面載入問答。可能是網站的設定不允許（其 Content-Security-Policy 的 frame-src，或服務的 QA_ALLOWED_ORIGINS）。";
  // How long the chat has to say it is ready before the panel says it could not load (a frame the host's CSP or the
  // service's frame-ancestors refuses shows the browser's blank error page, and no event tells the page so).
  var READY_MS = 10000;
  var HOST_STYLES = {
    display: "block",
    position: "static",
    transform: "none",
    filter: "none",
    perspective: "none",
    contain: "none",
    "will-change": "auto",
    "backdrop-filter": "none",
    "content-visibility": "visible",
    visibility: "visible",
    opacity: "1",
    width: "0",
    height: "0",
    margin: "0",
    padding: "0",
    border: "0",
    overflow: "visible",
  };
  var SVG = "http://www.w3.org/2000/svg";

  function css(node, styles, priority) {
    for (var name in styles) node.style.setProperty(name, styles[name], priority || "");
    return node;
  }

  function icon(d) {
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "26");
    svg.setAttribute("height", "26");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(SVG, "path");
    path.setAttribute("d", d);
    path.setAttribute("fill", "currentColor");
    svg.appendChild(path);
    return svg;
  }

  var CHAT = "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2zm3 6v2h2v-2H7zm4 0v2h2v-2h-2zm4 0v2h2v-2h-2z";
  var CLOSE = "M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4-5.6-5.6L6.4 19 5 17.6l5.6-5.6L5 6.4z";

  function mount() {
    var host = css(document.createElement("article-qa-widget"), HOST_STYLES, "important");
    host.setAttribute("data-article-qa-widget", "");
    var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;

    var button = css(document.createElement("button"), {
      position: "fixed",
      right: "20px",
      bottom: "20px",
      "z-index": "2147483000",
      width: "56px",
      height: "56px",
      "border-radius": "50%",
      border: "2px solid #ffffff",
      background: "#0b57d0",
      color: "#ffffff",
      cursor: "pointer",
      display: "flex",
      "align-items": "center",
      "justify-content": "center",
      padding: "0",
      "box-shadow": "0 4px 14px rgba(0, 0, 0, 0.3)",
    });
    button.type = "button";
    button.className = "article-qa-button";
    button.setAttribute("aria-label", label);
    button.setAttribute("aria-expanded", "false");
    button.title = label;
    button.appendChild(icon(CHAT));

    var panel = css(document.createElement("div"), {
      position: "fixed",
      "z-index": "2147483000",
      display: "none",
      background: "#ffffff",
      "border-radius": "12px",
      overflow: "hidden",
      "box-shadow": "0 8px 30px rgba(0, 0, 0, 0.35)",
    });
    panel.className = "article-qa-panel";
    panel.id = "article-qa-panel";
    button.setAttribute("aria-controls", panel.id);
    var frame = null;
    var ready = false;
    var notice = null;

    function watch() {
      setTimeout(function () {
        if (ready || notice) return;
        notice = css(document.createElement("p"), {
          position: "absolute",
          inset: "0",
          margin: "0",
          padding: "24px",
          background: "#ffffff",
          color: "#1f1f1f",
          font: "15px/1.6 system-ui, sans-serif",
        });
        notice.setAttribute("role", "alert");
        notice.textContent = blocked;
        panel.appendChild(notice);
      }, READY_MS);
    }

    function place() {
      var small = window.innerWidth < 480;
      css(panel, {
        right: small ? "0" : "20px",
        bottom: "88px",
        width: small ? "100%" : "min(380px, calc(100vw - 40px))",
        height: small ? "calc(100% - 88px)" : "min(560px, calc(100vh - 110px))",
        "border-radius": small ? "0" : "12px",
      });
    }

    function open() {
      if (!frame) {
        frame = css(document.createElement("iframe"), { width: "100%", height: "100%", border: "0", display: "block" });
        frame.className = "article-qa-frame";
        frame.title = label;
        frame.src = embed.href;
        frame.setAttribute("allow", "clipboard-write");
        panel.appendChild(frame);
        watch();
      }
      place();
      panel.style.display = "block";
      button.setAttribute("aria-expanded", "true");
      button.setAttribute("aria-label", closeLabel);
      button.replaceChild(icon(CLOSE), button.firstChild);
      frame.focus();
    }

    function close() {
      panel.style.display = "none";
      button.setAttribute("aria-expanded", "false");
      button.setAttribute("aria-label", label);
      button.replaceChild(icon(CHAT), button.firstChild);
      button.focus();
    }

    button.addEventListener("click", function () {
      if (panel.style.display === "none") open();
      else close();
    });
    window.addEventListener("resize", function () {
      if (panel.style.display !== "none") place();
    });
    window.addEventListener("message", function (event) {
      var fromFrame = frame && event.source === frame.contentWindow && event.origin === embed.origin;
      if (!fromFrame || !event.data) return;
      if (event.data.type === "article-qa:close") close();
      if (event.data.type === "article-qa:ready") {
        ready = true;
        if (notice) notice.remove();
      }
    });

    root.appendChild(panel);
    root.appendChild(button);
    document.body.appendChild(host);
  }

  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
