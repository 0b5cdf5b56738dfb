// Live updates, arrival alerts and quick replies. Every page also works without this script.
"use strict";

(function () {
  const live = document.querySelector("[data-stream]");
  const text = document.getElementById("reply-text");
  const TYPING_EVERY = 4000; // ms: the widget hides «sta scrivendo…» 8 s after the last signal
  const MUTED_KEY = "urp-console-muted";
  const baseTitle = document.title;
  let knownPending = null; // ids of the chats waiting, as last seen (null: not yet)

  function muted() {
    try {
      return window.localStorage.getItem(MUTED_KEY) === "1";
    } catch (error) {
      return false; // storage blocked: the sound stays on
    }
  }

  // Arrival alerts: a short sound (unless muted), a browser notification (if allowed),
  // and the count in the tab's title.
  const alerts = document.getElementById("alerts");
  const sound = document.getElementById("alert-sound");
  const notify = document.getElementById("alert-notify");
  const notifyState = document.getElementById("alert-notify-state");

  function showNotificationState() {
    if (!notify || !("Notification" in window)) {
      return;
    }
    const permission = window.Notification.permission;
    notify.hidden = permission !== "default";
    notifyState.textContent =
      permission === "granted" ? "Notifiche del browser attive." :
      permission === "denied" ? "Notifiche bloccate nelle impostazioni del browser." : "";
  }

  if (alerts) {
    alerts.hidden = false;
    sound.checked = !muted();
    sound.addEventListener("change", () => {
      try {
        window.localStorage.setItem(MUTED_KEY, sound.checked ? "0" : "1");
      } catch (error) {
        // storage blocked: the choice lasts as long as the page
      }
    });
    if (notify && "Notification" in window) {
      // Permission is asked only on the operator's click, never on load.
      notify.addEventListener("click", () => {
        window.Notification.requestPermission().then(showNotificationState);
      });
      showNotificationState();
    }
  }

  function arrived(chats) {
    const soundOn = sound ? sound.checked : !muted();
    if (soundOn && alerts) {
      const audio = new Audio(alerts.dataset.sound);
      audio.play().catch(() => {}); // the browser may refuse before any click on the page
    }
    if ("Notification" in window && window.Notification.permission === "granted") {
      const first = chats[0];
      const body = chats.length === 1
        ? "Conversazione n. " + first.id + " · " + first.channel
        : chats.length + " conversazioni nuove";
      const notice = new window.Notification("Nuova conversazione in coda", {
        body: body,
        tag: "urp-coda",
      });
      notice.addEventListener("click", () => {
        window.focus();
        window.location.assign("/");
      });
    }
  }

  function pendingChanged(data) {
    document.title = data.count > 0 ? "(" + data.count + ") " + baseTitle : baseTitle;
    const ids = data.chats.map((chat) => chat.id);
    if (knownPending !== null) {
      const fresh = data.chats.filter((chat) => !knownPending.has(chat.id));
      if (fresh.length > 0) {
        arrived(fresh);
      }
    }
    knownPending = new Set(ids);
  }

  function addToTranscript(elementId, data) {
    const transcript = document.getElementById("transcript");
    if (document.getElementById(elementId)) {
      return false; // already on the page
    }
    transcript.insertAdjacentHTML("beforeend", data.html);
    transcript.lastElementChild.scrollIntoView({ block: "nearest" });
    return true;
  }

  function announce(id, words) {
    const region = document.getElementById(id);
    if (region) {
      region.textContent = words;
    }
  }

  if (live && window.EventSource) {
    const stream = new EventSource(live.dataset.stream);
    stream.addEventListener("queue", (event) => {
      const data = JSON.parse(event.data);
      document.getElementById("queue-rows").innerHTML = data.html;
      announce("queue-summary", data.count === 1 ? "1 conversazione in coda" : data.count + " conversazioni in coda");
    });
    stream.addEventListener("pending", (event) => {
      pendingChanged(JSON.parse(event.data));
    });
    stream.addEventListener("message", (event) => {
      const data = JSON.parse(event.data);
      if (addToTranscript("messaggio-" + data.id, data) && data.author !== "operator") {
        announce("announcer", data.who + " scrive: " + (data.text || "una foto o una posizione"));
      }
    });
    stream.addEventListener("note", (event) => {
      const data = JSON.parse(event.data);
      if (addToTranscript("nota-" + data.id, data)) {
        announce("announcer", "Nota interna di " + data.who + ": " + data.text);
      }
    });
    stream.addEventListener("delivery", (event) => {
      // A reply's status changed (the web citizen's widget took it, a retry went out).
      const data = JSON.parse(event.data);
      const message = document.getElementById("messaggio-" + data.id);
      const shown = message && message.querySelector(".message-meta > .delivered, .message-meta > .awaiting, .message-meta > .undelivered");
      if (!shown || shown.className === data.status) {
        return;
      }
      shown.outerHTML = data.html;
      if (data.status !== "undelivered") {
        const retry = message.querySelector("form[action$='/retry']");
        if (retry) {
          retry.remove();
        }
      }
      if (data.status === "delivered") {
        announce("announcer", "Risposta consegnata al cittadino.");
      }
    });
    stream.addEventListener("state", (event) => {
      const data = JSON.parse(event.data);
      const notice = document.getElementById("state-changed");
      notice.querySelector("span").textContent = data.notice;
      notice.hidden = false;
      const form = document.getElementById("reply-form");
      if (form && data.status !== "assigned") {
        form.querySelector("button[type=submit]").disabled = true;
      }
    });
    stream.addEventListener("session", () => {
      stream.close();
      window.location.assign("/login?motivo=scaduta");
    });
  }

  const quick = document.getElementById("quick-reply");
  if (quick && text) {
    // The chosen text goes into the box, to read or edit before sending; the select is
    // emptied so that the server does not add it a second time.
    quick.addEventListener("change", () => {
      const option = quick.selectedOptions[0];
      if (!option || !option.value) {
        return;
      }
      const chosen = option.dataset.text;
      text.value = text.value.trim() ? text.value.trimEnd() + "\n\n" + chosen : chosen;
      quick.value = "";
      text.focus();
      text.setSelectionRange(text.value.length, text.value.length);
    });
  }

  // «Giulia sta scrivendo…» in a web citizen's widget: a signal every few seconds while
  // the operator types, and one when they stop. A lost signal is not worth a word.
  const replyForm = document.getElementById("reply-form");
  if (text && replyForm && replyForm.dataset.typing && window.fetch) {
    let typing = false;
    let lastSignal = 0;
    const signal = (on) => {
      const body = new URLSearchParams({
        csrf_token: replyForm.elements.csrf_token.value,
        typing: on ? "1" : "0",
      });
      window.fetch(replyForm.dataset.typing, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        keepalive: true, // the «stopped» of a send still goes out as the page changes
      }).catch(() => {});
    };
    const stopped = () => {
      if (typing) {
        typing = false;
        signal(false);
      }
    };
    text.addEventListener("input", () => {
      if (!text.value.trim()) {
        stopped(); // all erased
        return;
      }
      const now = Date.now();
      if (!typing || now - lastSignal >= TYPING_EVERY) {
        typing = true;
        lastSignal = now;
        signal(true);
      }
    });
    text.addEventListener("blur", stopped);
    replyForm.addEventListener("submit", stopped);
  }

  if (text) {
    text.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        text.form.requestSubmit();
      }
    });
  }
})();
