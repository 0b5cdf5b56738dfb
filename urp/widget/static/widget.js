/*!
 * Sportello URP: the web chat widget (EUPL-1.2).
 *
 * <script src="https://chat.comune.example/widget/widget.js"
 *         data-server="https://chat.comune.example" data-title="Comune di Ancona" defer></script>
 *
 * It talks to Rasa's socket.io channel (session_persistence on): the session id and the
 * transcript live in localStorage, so a reload continues the same conversation.
 */
(() => {
  "use strict";

  const script = document.currentScript;
  if (!script || window.__urpWidget) return; // embedded twice: one widget is enough
  window.__urpWidget = true;

  const ASSETS = new URL(".", script.src).href; // widget.css and the vendored client sit beside it
  const SERVER = (script.dataset.server || new URL(script.src).origin).replace(/\/+$/, "");
  const SOCKET_PATH = script.dataset.socketPath || "/socket.io/";
  const TITLE = script.dataset.title || "URP";
  // Long-polling first: Rasa 3.6's Sanic breaks socket.io's websocket frames, and its
  // `--cors` answers the polling requests of a page on another origin.
  const TRANSPORTS = (script.dataset.transports || "polling").split(/[\s,]+/).filter(Boolean);
  const STORAGE_KEY = `urp-widget:${SERVER}`;
  const OPEN_KEY = `urp-widget-open:${SERVER}`;
  const MAX_MESSAGES = 200; // localStorage is small; older lines go first
  const TYPING_TIMEOUT = 30000; // ms: a reply that never comes stops the indicator

  // -- storage: a reload keeps the conversation; without storage it lives as long as the page

  const memory = { sessionId: null, messages: [] };

  function readConversation() {
    try {
      const saved = JSON.parse(localStorage.getItem(STORAGE_KEY) || "null");
      if (saved && Array.isArray(saved.messages)) {
        return { sessionId: saved.sessionId || null, messages: saved.messages };
      }
    } catch (error) {
      // Storage disabled or an unreadable value: start afresh.
    }
    return { ...memory, messages: [...memory.messages] };
  }

  function saveConversation() {
    conversation.messages = conversation.messages.slice(-MAX_MESSAGES);
    Object.assign(memory, conversation);
    try {
      localStorage.setItem(STORAGE_KEY, JSON.stringify(conversation));
    } catch (error) {
      // Full or disabled storage: the conversation still works, it just won't survive a reload.
    }
  }

  function forgetConversation() {
    conversation = { sessionId: null, messages: [] };
    Object.assign(memory, conversation);
    try {
      localStorage.removeItem(STORAGE_KEY);
    } catch (error) {
      // Nothing stored.
    }
  }

  // Open or closed is per tab: sessionStorage, so a new tab starts with the panel closed.
  function rememberOpen(open) {
    try {
      if (open) sessionStorage.setItem(OPEN_KEY, "1");
      else sessionStorage.removeItem(OPEN_KEY);
    } catch (error) {
      // Not remembered: the panel starts closed.
    }
  }

  function wasOpen() {
    try {
      return sessionStorage.getItem(OPEN_KEY) === "1";
    } catch (error) {
      return false;
    }
  }

  let conversation = readConversation();

  // -- DOM helpers: text always goes in as text nodes, never as HTML

  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (name === "class") node.className = value;
      else node.setAttribute(name, value);
    }
    node.append(...children);
    return node;
  }

  const ICON_CHAT =
    '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path fill="currentColor" d="M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm0 2v11h2v2l2.5-2H20V5H4zm3 4h10v2H7V9z"/></svg>';
  const ICON_CLOSE =
    '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path fill="currentColor" d="M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4-5.6-5.6L6.4 19 5 17.6l5.6-5.6L5 6.4z"/></svg>';

  function icon(markup) {
    // Constant markup written here, never data: the only innerHTML in the widget.
    const holder = document.createElement("span");
    holder.className = "urpw-icon";
    holder.innerHTML = markup;
    return holder;
  }

  function safeUrl(value, protocols = ["https:", "http:"]) {
    try {
      const url = new URL(value);
      return protocols.includes(url.protocol) ? url.href : null;
    } catch (error) {
      return null;
    }
  }

  function link(href, text) {
    return el(
      "a",
      { href, target: "_blank", rel: "noopener noreferrer" },
      text,
      el("span", { class: "urpw-sr" }, " (si apre in una nuova finestra)"),
    );
  }

  const LINKS = /(https?:\/\/[^\s<>"«»]+)|([\w.+-]+@[\w-]+(?:\.[\w-]+)+)/gi;
  const TRAILING = /[.,;:!?)\]'’»]+$/; // punctuation after a link belongs to the sentence

  function appendLinked(parent, text) {
    let last = 0;
    for (const match of text.matchAll(LINKS)) {
      let [found, url, email] = match;
      if (url) {
        found = url.replace(TRAILING, "");
      }
      parent.append(text.slice(last, match.index));
      const href = url ? safeUrl(found) : `mailto:${email}`;
      parent.append(href ? link(href, found) : found);
      last = match.index + found.length;
    }
    parent.append(text.slice(last));
  }

  // WhatsApp's *bold*: the asterisks touch the words inside and not a letter outside.
  const BOLD = /(^|[^\w*])\*([^\s*](?:[^*\n]*[^\s*])?)\*(?![\w*])/g;

  function appendFormatted(parent, text) {
    let last = 0;
    for (const match of text.matchAll(BOLD)) {
      const start = match.index + match[1].length;
      appendLinked(parent, text.slice(last, start));
      const strong = el("strong");
      appendLinked(strong, match[2]);
      parent.append(strong);
      last = match.index + match[0].length;
    }
    appendLinked(parent, text.slice(last));
  }

  // -- the widget's elements, in a shadow root so the site's styles and ours stay apart

  const host = el("div", { class: "urp-widget" });
  const shadow = host.attachShadow({ mode: "open" });
  const root = el("div", { class: "urpw", hidden: "" });
  const stylesheet = el("link", { rel: "stylesheet", href: `${ASSETS}widget.css` });
  // Shown once styled (or once it is clear the styles will not come: usable anyway).
  stylesheet.addEventListener("load", () => root.removeAttribute("hidden"));
  stylesheet.addEventListener("error", () => root.removeAttribute("hidden"));

  const launcherLabel = el("span", { class: "urpw-launcher-label" }, "Scrivi all'URP");
  const unread = el("span", { class: "urpw-unread", hidden: "" }, "nuovi messaggi");
  const launcher = el(
    "button",
    { type: "button", class: "urpw-launcher", "aria-expanded": "false", "aria-controls": "urpw-panel" },
    icon(ICON_CHAT),
    launcherLabel,
    unread,
  );

  const closeButton = el(
    "button",
    { type: "button", class: "urpw-close", "aria-label": "Chiudi la chat", title: "Chiudi la chat" },
    icon(ICON_CLOSE),
  );
  const resetButton = el("button", { type: "button", class: "urpw-reset" }, "Nuova conversazione");
  const notice = el("p", { class: "urpw-notice", role: "status", hidden: "" });
  const log = el("div", {
    class: "urpw-log",
    role: "log",
    "aria-live": "polite",
    "aria-label": "Messaggi della conversazione",
    tabindex: "0", // a keyboard can scroll back through a long conversation
  });
  const typing = el(
    "p",
    { class: "urpw-typing", role: "status", hidden: "" },
    "L'assistente sta scrivendo…",
  );
  const input = el("input", {
    id: "urpw-input",
    class: "urpw-input",
    type: "text",
    autocomplete: "off",
    maxlength: "1000",
    placeholder: "Scrivi la tua domanda",
    enterkeyhint: "send",
  });
  const form = el(
    "form",
    { class: "urpw-form" },
    el("label", { for: "urpw-input", class: "urpw-sr" }, "Il tuo messaggio"),
    input,
    el("button", { type: "submit", class: "urpw-send" }, "Invia"),
  );
  const panel = el(
    "section",
    { id: "urpw-panel", class: "urpw-panel", role: "dialog", "aria-labelledby": "urpw-title", hidden: "" },
    el(
      "header",
      { class: "urpw-header" },
      el(
        "div",
        { class: "urpw-heading" },
        el("h2", { id: "urpw-title", class: "urpw-title" }, TITLE),
        el("p", { class: "urpw-subtitle" }, "Assistente virtuale dell'URP"),
      ),
      resetButton,
      closeButton,
    ),
    notice,
    log,
    typing,
    form,
  );
  root.append(launcher, panel);
  shadow.append(stylesheet, root);

  function intro() {
    return el(
      "div",
      { class: "urpw-intro" },
      el(
        "p",
        {},
        "Ciao! Scrivimi la tua domanda, per esempio «farmacie di turno stanotte» o " +
          "«orari dell'anagrafe». Se serve, ti passo a una persona dell'ufficio.",
      ),
      el(
        "p",
        { class: "urpw-small" },
        "La conversazione resta in questo browser finché non scegli «Nuova conversazione».",
      ),
    );
  }

  // -- drawing the transcript

  function messageNode(message) {
    const mine = message.from === "user";
    const bubble = el("div", { class: `urpw-msg ${mine ? "urpw-msg-user" : "urpw-msg-bot"}` });
    bubble.append(el("span", { class: "urpw-sr" }, mine ? "Tu: " : "Assistente: "));
    if (message.text) {
      const text = el("span", { class: "urpw-text" });
      if (mine) text.append(message.text);
      else appendFormatted(text, message.text);
      bubble.append(text);
    }
    if (message.image) {
      bubble.append(
        el("img", { class: "urpw-image", src: message.image, alt: message.alt, loading: "lazy" }),
      );
    }
    if (message.attachment) {
      bubble.append(link(message.attachment, "Apri l'allegato"));
    }
    return bubble;
  }

  function choicesNode(buttons) {
    const group = el("div", { class: "urpw-choices", role: "group", "aria-label": "Risposte proposte" });
    for (const button of buttons) {
      const choice = el("button", { type: "button", class: "urpw-choice" }, button.title);
      choice.addEventListener("click", () => send(button.payload, button.title));
      group.append(choice);
    }
    return group;
  }

  function scrollToEnd() {
    log.scrollTop = log.scrollHeight;
  }

  function redraw() {
    log.replaceChildren(intro(), ...conversation.messages.map(messageNode));
    showChoices();
    scrollToEnd();
  }

  // Only the last message's buttons can be used: an answer to an older question is stale.
  function showChoices() {
    for (const old of log.querySelectorAll(".urpw-choices")) old.remove();
    const last = conversation.messages[conversation.messages.length - 1];
    if (last && last.from === "bot" && last.buttons && last.buttons.length) {
      log.append(choicesNode(last.buttons));
    }
  }

  function addMessage(message) {
    conversation.messages.push(message);
    saveConversation();
    for (const old of log.querySelectorAll(".urpw-choices")) old.remove();
    log.append(messageNode(message));
    showChoices();
    scrollToEnd();
  }

  // -- what Rasa's socket.io channel sends (bot_uttered): text, quick replies, attachments

  function fromBot(data) {
    if (!data || typeof data !== "object") return [];
    const messages = [];
    const text = typeof data.text === "string" ? data.text : "";
    const offered = data.quick_replies || data.buttons;
    const buttons = (Array.isArray(offered) ? offered : [])
      .filter((b) => b && typeof b.title === "string" && typeof b.payload === "string")
      .map((b) => ({ title: b.title, payload: b.payload }));
    const attachment = data.attachment;
    const image =
      (typeof data.image === "string" && data.image) ||
      (attachment && attachment.type === "image" && attachment.payload && attachment.payload.src);
    const imageUrl = image && safeUrl(image);
    if (text || buttons.length) messages.push({ from: "bot", text, buttons });
    if (imageUrl) {
      const alt = (typeof data.alt === "string" && data.alt) || "Immagine inviata dall'assistente";
      messages.push({ from: "bot", image: imageUrl, alt });
    } else if (attachment && attachment.payload && attachment.payload.src) {
      const href = safeUrl(attachment.payload.src);
      if (href) messages.push({ from: "bot", attachment: href });
    }
    return messages;
  }

  // -- the connection

  let socket = null;
  let confirmed = false; // the server has put this socket in the session's room
  let connecting = null;
  const outbox = []; // written while offline: sent once the session is confirmed
  let typingTimer = null;

  function showNotice(text) {
    notice.textContent = text;
    notice.hidden = !text;
  }

  function setTyping(on) {
    clearTimeout(typingTimer);
    typing.hidden = !on;
    if (on) typingTimer = setTimeout(() => setTyping(false), TYPING_TIMEOUT);
  }

  const UNREACHABLE =
    "In questo momento il servizio non risponde: riprovo a collegarmi da solo. " +
    "Quello che scrivi partirà appena torna la linea.";

  // The vendored client is loaded only when the chat is used, not on every page view.
  function loadClient() {
    return new Promise((resolve, reject) => {
      const previous = window.io; // a site with its own socket.io keeps it
      const tag = document.createElement("script");
      tag.src = `${ASSETS}vendor/socket.io/socket.io.min.js`;
      tag.async = true;
      tag.onload = () => {
        const client = window.io;
        if (previous === undefined) delete window.io;
        else window.io = previous;
        resolve(client);
      };
      tag.onerror = () => reject(new Error("socket.io client not loaded"));
      document.head.append(tag);
    });
  }

  function connect() {
    if (socket || connecting) return;
    connecting = loadClient().then(
      (io) => {
        connecting = null;
        socket = io(SERVER, { path: SOCKET_PATH, transports: TRANSPORTS, reconnectionDelayMax: 10000 });
        socket.on("connect", () => {
          socket.emit("session_request", { session_id: conversation.sessionId });
        });
        socket.on("session_confirm", (data) => {
          const id = data && typeof data === "object" ? data.session_id : data;
          if (id && id !== conversation.sessionId) {
            conversation.sessionId = String(id);
            saveConversation();
          }
          confirmed = true;
          showNotice("");
          while (outbox.length) emit(outbox.shift());
        });
        socket.on("bot_uttered", (data) => {
          setTyping(false);
          for (const message of fromBot(data)) addMessage(message);
          if (panel.hidden) unread.hidden = false;
        });
        socket.on("connect_error", () => showNotice(UNREACHABLE));
        socket.on("disconnect", (reason) => {
          confirmed = false;
          setTyping(false);
          if (reason !== "io client disconnect") showNotice(UNREACHABLE);
        });
      },
      () => {
        connecting = null;
        showNotice(UNREACHABLE);
      },
    );
  }

  function emit(text) {
    socket.emit("user_uttered", { message: text, session_id: conversation.sessionId });
    setTyping(true);
  }

  function send(text, shown = text) {
    const message = text.trim();
    if (!message) return;
    addMessage({ from: "user", text: shown.trim() });
    if (confirmed) emit(message);
    else {
      outbox.push(message);
      connect();
    }
  }

  // -- opening, closing, keyboard

  function open({ focus = true } = {}) {
    panel.hidden = false;
    launcher.hidden = true;
    launcher.setAttribute("aria-expanded", "true");
    unread.hidden = true;
    rememberOpen(true);
    connect();
    scrollToEnd();
    if (focus) input.focus();
  }

  function close() {
    panel.hidden = true;
    launcher.hidden = false;
    launcher.setAttribute("aria-expanded", "false");
    rememberOpen(false);
    launcher.focus();
  }

  function startOver() {
    forgetConversation();
    outbox.length = 0;
    setTyping(false);
    redraw();
    if (socket) {
      // A fresh socket leaves the old session's room, then asks for a new session id.
      confirmed = false;
      socket.disconnect();
      socket.connect();
    }
    input.focus();
  }

  launcher.addEventListener("click", () => open());
  closeButton.addEventListener("click", close);
  resetButton.addEventListener("click", startOver);
  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      close();
    }
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send(input.value);
    input.value = "";
  });

  function start() {
    redraw();
    document.body.append(host);
    // Reopened after a reload or a new page of the site, without taking the page's focus.
    if (wasOpen()) open({ focus: false });
    else if (conversation.sessionId) connect(); // an operator's reply can arrive while closed
  }

  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
