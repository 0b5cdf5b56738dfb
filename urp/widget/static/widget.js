/*!
 * Sportello URP: the web chat widget (EUPL-1.2).
 *
 * <script src="https://chat.comune.example/widget/widget.js"
 *         data-server="https://chat.comune.example" data-title="Comune di Ancona" defer></script>
 *
 * It talks to Rasa's socket.io channel (session_persistence on): the session id and the
 * transcript live in localStorage, so a reload continues the same conversation.
 *
 * Besides Rasa's events the widget understands two additions of the URP channel, so the
 * citizen always knows who is answering:
 * - `bot_uttered` may carry `urp: {author: "operator", name: "Mario", handoff: "assigned"}`:
 *   `author` marks a message an operator wrote (`name` is their first name), `handoff` the
 *   state of the request to the URP from then on ("pending", "assigned" or "none");
 * - `urp_typing` `{name: "Mario", typing: true}`: the operator is typing (or stopped).
 *
 * Nothing is lost while the page is closed or the line stalls (urp/widget/outbox.py): each
 * message carries `urp.id` and `urp.previous` (the conversation's message before it). The
 * widget shows an id once, acknowledges it (`urp_ack`), and at every connection says the
 * last id it has (`session_request` with `last`): the server replays the rest, in order.
 * A message whose `previous` it has not seen means one was missed: it asks again.
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
  const OPERATOR_TYPING_TIMEOUT = 8000; // ms: the console repeats urp_typing while typing
  // What the server keeps of a message (urp/inbound/cleaning.py MAX_TEXT): longer texts are
  // refused here, never cut without a word.
  const MAX_LENGTH = 2000;
  const MAX_INPUT_HEIGHT = 160; // px: about six lines, then the text area scrolls
  const HANDOFF_STATES = ["none", "pending", "assigned"];
  // The citizen's own way out of a request (urp/inbound/keywords.py BACK_TO_BOT_PHRASES).
  const END_REQUEST = "torna al bot";
  const END_REQUEST_TIMEOUT = 5000; // ms: the new conversation starts even without an answer
  const ASK_AGAIN_AFTER = 2000; // ms between two requests for missed messages

  // -- storage: a reload keeps the conversation; without storage it lives as long as the page

  const NO_HANDOFF = { state: "none", name: "" };
  const memory = { sessionId: null, messages: [], handoff: NO_HANDOFF, lastId: 0 };

  function readHandoff(value) {
    if (value && HANDOFF_STATES.includes(value.state)) {
      return { state: value.state, name: typeof value.name === "string" ? value.name : "" };
    }
    return NO_HANDOFF;
  }

  function readConversation() {
    try {
      const saved = JSON.parse(localStorage.getItem(STORAGE_KEY) || "null");
      if (saved && Array.isArray(saved.messages)) {
        return {
          sessionId: saved.sessionId || null,
          messages: saved.messages,
          handoff: readHandoff(saved.handoff),
          lastId: messageId(saved.lastId) || 0,
        };
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
    conversation = { sessionId: null, messages: [], handoff: NO_HANDOFF, lastId: 0 };
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

  // The server's message ids: whole numbers from 1 (0: none yet).
  function messageId(value) {
    return Number.isSafeInteger(value) && value >= 0 ? value : null;
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
      appendPhones(parent, text.slice(last, match.index));
      const href = url ? safeUrl(found) : `mailto:${email}`;
      parent.append(href ? link(href, found) : found);
      last = match.index + found.length;
    }
    appendPhones(parent, text.slice(last));
  }

  // Italian phone numbers, to call with a tap: landlines (071 222 2222, 06 1234 5678),
  // mobiles (333 123 4567), toll-free and shared-cost numbers (800 123 456), with +39 or
  // not, digits grouped by spaces, dots or dashes. Not a time, a date, an amount, a code.
  const PHONES =
    /(?<![\w+/@:-])(?<!\d[.,])(\+39[ .]?)?((?:0[1-9]\d{0,3}|3\d{2}|80[0-3]|84\d|89\d)(?:[ .-]?\d{2,4}){1,3})(?![\w/@]|[.,:-]\d)/g;
  const NOT_A_PHONE = [
    /^\d{1,2}[.:]\d{2}(?:\s*-\s*\d{1,2}[.:]\d{2})?$/, // 08.30, 08.30-13.00
    /^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}$/, // 01.02.2027, 01-02-27
  ];

  function phoneHref(number) {
    const digits = number.replace(/\D/g, "");
    if (NOT_A_PHONE.some((pattern) => pattern.test(number))) return null;
    const mobile = digits.startsWith("3");
    const [fewest, most] = mobile ? [9, 10] : [6, 11];
    if (digits.length < fewest || digits.length > most) return null;
    return `tel:+39${digits}`; // only digits reach the link
  }

  function appendPhones(parent, text) {
    let last = 0;
    for (const match of text.matchAll(PHONES)) {
      const [found, , number] = match;
      const href = phoneHref(number);
      if (!href) continue;
      parent.append(text.slice(last, match.index));
      parent.append(el("a", { href, class: "urpw-phone" }, found));
      last = match.index + found.length;
    }
    parent.append(text.slice(last));
  }

  // A list item run into the line before it («non è ancora aperto: • *Bando*»): each
  // bullet starts a line of its own, as it does on WhatsApp when the answer is written so.
  function breakLists(text) {
    return text.replace(/([^\n])[ \t]+(?=• )/g, "$1\n").replace(/:[ \t]+(?=- \S)/g, ":\n");
  }

  // WhatsApp's *bold*: the asterisks touch the words inside and not a letter outside.
  const BOLD = /(^|[^\w*])\*([^\s*](?:[^*\n]*[^\s*])?)\*(?![\w*])/g;

  function appendFormatted(parent, written) {
    const text = breakLists(written);
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
  const subtitle = el("p", { class: "urpw-subtitle" });
  const notice = el("p", { class: "urpw-notice", role: "status", hidden: "" });
  // «Nuova conversazione» asks first: the question and its answers change with the request.
  const confirmText = el("p", { id: "urpw-confirm-text", class: "urpw-confirm-text" });
  const confirmActions = el("div", { class: "urpw-confirm-actions" });
  const confirmBox = el(
    "div",
    { class: "urpw-confirm", role: "alertdialog", "aria-labelledby": "urpw-confirm-text", hidden: "" },
    confirmText,
    confirmActions,
  );
  const log = el("div", {
    class: "urpw-log",
    role: "log",
    "aria-live": "polite",
    "aria-label": "Messaggi della conversazione",
    tabindex: "0", // a keyboard can scroll back through a long conversation
  });
  const typing = el("p", { class: "urpw-typing", role: "status", hidden: "" });
  const input = el("textarea", {
    id: "urpw-input",
    class: "urpw-input",
    rows: "1",
    autocomplete: "off",
    placeholder: "Scrivi la tua domanda",
    enterkeyhint: "send",
    "aria-describedby": "urpw-count urpw-limit",
  });
  // The limit is always in sight while writing; a text over it is kept and refused, not cut.
  const counter = el("span", { id: "urpw-count", class: "urpw-count", hidden: "" });
  const limitMessage = el("span", { id: "urpw-limit", class: "urpw-limit", role: "status" });
  const form = el(
    "form",
    { class: "urpw-form" },
    el(
      "div",
      { class: "urpw-compose" },
      el("label", { for: "urpw-input", class: "urpw-sr" }, "Il tuo messaggio"),
      input,
      el("button", { type: "submit", class: "urpw-send" }, "Invia"),
    ),
    el("p", { class: "urpw-meta" }, limitMessage, counter),
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
        subtitle,
      ),
      resetButton,
      closeButton,
    ),
    confirmBox,
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

  // An operator's message says who wrote it, on screen and to a screen reader: a person of
  // the URP, not the assistant.
  function authorNodes(message) {
    if (message.from === "user") return [el("span", { class: "urpw-sr" }, "Tu: ")];
    if (message.from !== "operator") return [el("span", { class: "urpw-sr" }, "Assistente: ")];
    const name = message.name || "Operatore";
    const spoken = message.name ? `${message.name}, operatore dell'URP: ` : "Operatore dell'URP: ";
    return [
      el("span", { class: "urpw-author", "aria-hidden": "true" }, `${name} · URP`),
      el("span", { class: "urpw-sr" }, spoken),
    ];
  }

  const BUBBLE_CLASS = { user: "urpw-msg-user", operator: "urpw-msg-operator", bot: "urpw-msg-bot" };

  function messageNode(message) {
    const mine = message.from === "user";
    const bubble = el("div", { class: `urpw-msg ${BUBBLE_CLASS[message.from] || BUBBLE_CLASS.bot}` });
    bubble.append(...authorNodes(message));
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

  // The header says who answers now: the assistant, nobody yet, or the operator by name.
  function showWhoAnswers() {
    const { state, name } = conversation.handoff;
    if (state === "assigned") {
      subtitle.textContent = name ? `Ti risponde ${name} dell'URP` : "Ti risponde un operatore dell'URP";
    } else if (state === "pending") {
      subtitle.textContent = "In attesa di un operatore dell'URP";
    } else {
      subtitle.textContent = "Assistente virtuale dell'URP";
    }
    panel.classList.toggle("urpw-with-operator", state === "assigned");
  }

  function redraw() {
    showWhoAnswers();
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
    const meta = urpMeta(data);
    const from = meta.author === "operator" ? "operator" : "bot";
    const name = from === "operator" ? operatorName(meta) || conversation.handoff.name : "";
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
    if (text || buttons.length) messages.push({ from, name, text, buttons });
    if (imageUrl) {
      const sender = from === "operator" ? "dall'operatore" : "dall'assistente";
      const alt = (typeof data.alt === "string" && data.alt) || `Immagine inviata ${sender}`;
      messages.push({ from, name, image: imageUrl, alt });
    } else if (attachment && attachment.payload && attachment.payload.src) {
      const href = safeUrl(attachment.payload.src);
      if (href) messages.push({ from, name, attachment: href });
    }
    return messages;
  }

  function urpMeta(data) {
    return data.urp && typeof data.urp === "object" ? data.urp : {};
  }

  // A first name is shown as text; anything odd (too long, not a string) is left out.
  function operatorName(meta) {
    const name = typeof meta.name === "string" ? meta.name.trim() : "";
    return name.length <= 40 ? name : "";
  }

  // The request's state from a message: stated by the server, or implied by an operator's
  // message (somebody holds the chat).
  function handoffFrom(data) {
    if (!data || typeof data !== "object") return null;
    const meta = urpMeta(data);
    const name = operatorName(meta);
    if (HANDOFF_STATES.includes(meta.handoff)) {
      const known = meta.handoff === "assigned" ? name || conversation.handoff.name : "";
      return { state: meta.handoff, name: known };
    }
    if (meta.author !== "operator") return null;
    return { state: "assigned", name: name || conversation.handoff.name };
  }

  let afterRequestEnds = null; // «Nuova conversazione» waits for the request to be closed

  function setHandoff(handoff) {
    if (!handoff) return;
    conversation.handoff = handoff;
    saveConversation();
    showWhoAnswers();
    if (handoff.state === "none" && afterRequestEnds) afterRequestEnds();
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

  // Only while somebody writes: the assistant working on an answer, or the operator typing.
  // A paused assistant (an operator holds the chat) writes nothing, so shows nothing.
  function setTyping(who, timeout = TYPING_TIMEOUT) {
    clearTimeout(typingTimer);
    typing.hidden = !who;
    typing.textContent = who ? `${who} sta scrivendo…` : "";
    if (who) typingTimer = setTimeout(() => setTyping(null), timeout);
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
        socket.on("connect", requestSession);
        socket.on("session_confirm", (data) => {
          const id = data && typeof data === "object" ? data.session_id : data;
          if (id && id !== conversation.sessionId) {
            conversation.sessionId = String(id);
            conversation.lastId = 0; // a new conversation: its messages are all to come
            saveConversation();
          }
          confirmed = true;
          showNotice("");
          while (outbox.length) emit(outbox.shift());
        });
        socket.on("bot_uttered", (data) => {
          if (!data || typeof data !== "object") return;
          const id = messageId(urpMeta(data).id);
          if (id !== null && id <= conversation.lastId) return; // had it already
          if (id !== null && (messageId(urpMeta(data).previous) || 0) > conversation.lastId) {
            askAgain(); // one before it never came: the server sends both again, in order
            return;
          }
          setTyping(null);
          if (id !== null) conversation.lastId = id;
          const messages = fromBot(data);
          for (const message of messages) addMessage(message);
          if (!messages.length) saveConversation();
          setHandoff(handoffFrom(data));
          if (panel.hidden && messages.length) unread.hidden = false;
          if (id !== null) socket.emit("urp_ack", { session_id: conversation.sessionId, id });
        });
        socket.on("urp_typing", (data) => {
          if (!data || typeof data !== "object") return;
          if (data.typing === false) setTyping(null);
          else setTyping(operatorName(data) || "L'operatore", OPERATOR_TYPING_TIMEOUT);
        });
        socket.on("connect_error", () => showNotice(UNREACHABLE));
        socket.on("disconnect", (reason) => {
          confirmed = false;
          setTyping(null);
          if (reason !== "io client disconnect") showNotice(UNREACHABLE);
        });
      },
      () => {
        connecting = null;
        showNotice(UNREACHABLE);
      },
    );
  }

  // At every connection: the session to continue, and the last message this browser has.
  function requestSession() {
    socket.emit("session_request", { session_id: conversation.sessionId, last: conversation.lastId });
  }

  let askedAgainAt = 0;

  function askAgain() {
    const now = Date.now();
    if (now - askedAgainAt < ASK_AGAIN_AFTER) return; // the replay asked for is on its way
    askedAgainAt = now;
    requestSession();
  }

  function emit(text) {
    socket.emit("user_uttered", { message: text, session_id: conversation.sessionId });
    if (conversation.handoff.state !== "assigned") setTyping("L'assistente");
  }

  function send(text, shown = text) {
    const message = text.trim();
    if (!message) return false;
    if (length(message) > MAX_LENGTH) return false;
    addMessage({ from: "user", text: shown.trim() });
    if (confirmed) emit(message);
    else {
      outbox.push(message);
      connect();
    }
    return true;
  }

  // -- the text area: grows with the text, shows the limit, refuses what the server would cut

  function length(text) {
    return [...text].length; // characters as the server counts them, an emoji is one
  }

  function fitInput() {
    input.style.height = "auto";
    input.style.height = `${Math.min(input.scrollHeight + 2, MAX_INPUT_HEIGHT)}px`;
  }

  function checkLength() {
    const count = length(input.value.trim());
    counter.hidden = count === 0;
    counter.textContent = `${count}/${MAX_LENGTH}`;
    const over = count > MAX_LENGTH;
    counter.classList.toggle("urpw-over", over);
    if (over) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
    let text = "";
    if (over) {
      text =
        `Messaggio troppo lungo: ${count} caratteri, il massimo è ` +
        `${MAX_LENGTH}. Accorcialo o dividilo in più messaggi.`;
    } else if (count === MAX_LENGTH) {
      text = `Hai raggiunto il limite di ${MAX_LENGTH} caratteri.`;
    }
    if (limitMessage.textContent !== text) limitMessage.textContent = text;
    return !over;
  }

  function onInput() {
    fitInput();
    checkLength();
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
    clearTimeout(endRequestTimer);
    afterRequestEnds = null;
    hideConfirm({ focus: false });
    forgetConversation();
    outbox.length = 0;
    setTyping(null);
    redraw();
    if (socket) {
      // A fresh socket leaves the old session's room, then asks for a new session id.
      confirmed = false;
      socket.disconnect();
      socket.connect();
    }
    input.focus();
  }

  // During a request to the URP, starting over would leave it open in the queue and its
  // answer in a conversation nobody sees: the citizen ends it or keeps it, explicitly.
  let endRequestTimer = null;

  function choice(text, action, className = "urpw-choice") {
    const button = el("button", { type: "button", class: className }, text);
    button.addEventListener("click", action);
    return button;
  }

  function askStartOver() {
    const requestOpen = conversation.handoff.state !== "none";
    const who = conversation.handoff.name ? ` con ${conversation.handoff.name}` : "";
    confirmText.textContent = requestOpen
      ? `La tua richiesta all'URP${who} è ancora aperta. ` +
        "Vuoi chiuderla e ricominciare, o tenerla e aspettare qui la risposta?"
      : "Vuoi cancellare questa conversazione e iniziarne una nuova? " +
        "I messaggi di adesso non si potranno più leggere.";
    const keep = choice(requestOpen ? "Tieni la richiesta" : "Annulla", () => hideConfirm());
    const danger = "urpw-choice urpw-danger";
    const go = requestOpen
      ? choice("Chiudi la richiesta e ricomincia", endRequestAndStartOver, danger)
      : choice("Sì, ricomincia", startOver, danger);
    confirmActions.replaceChildren(keep, go); // the safe answer first, and focused
    confirmBox.hidden = false;
    keep.focus();
  }

  function hideConfirm({ focus = true } = {}) {
    if (confirmBox.hidden) return;
    confirmBox.hidden = true;
    confirmActions.replaceChildren();
    if (focus) resetButton.focus();
  }

  function endRequestAndStartOver() {
    if (!confirmed) {
      hideConfirm();
      showNotice("Per chiudere la richiesta serve la linea: riprova tra poco.");
      return;
    }
    confirmText.textContent = "Chiudo la richiesta…";
    confirmActions.replaceChildren();
    afterRequestEnds = startOver;
    endRequestTimer = setTimeout(startOver, END_REQUEST_TIMEOUT);
    send(END_REQUEST);
  }

  launcher.addEventListener("click", () => open());
  closeButton.addEventListener("click", close);
  resetButton.addEventListener("click", askStartOver);
  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      if (!confirmBox.hidden && confirmActions.childElementCount) hideConfirm();
      else close();
    }
  });
  input.addEventListener("input", onInput);
  // Enter sends, as in the one-line box before; Shift+Enter starts a new line.
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!checkLength()) {
      input.focus();
      return;
    }
    if (send(input.value)) {
      input.value = "";
      onInput();
    }
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
