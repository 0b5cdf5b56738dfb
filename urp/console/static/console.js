// Live updates and quick replies. Every page also works without this script.
"use strict";

(function () {
  const live = document.querySelector("[data-stream]");
  const text = document.getElementById("reply-text");

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
    stream.addEventListener("message", (event) => {
      const data = JSON.parse(event.data);
      const transcript = document.getElementById("transcript");
      if (document.getElementById("messaggio-" + data.id)) {
        return; // already on the page
      }
      transcript.insertAdjacentHTML("beforeend", data.html);
      if (data.author !== "operator") {
        announce("announcer", data.who + " scrive: " + (data.text || "una foto o una posizione"));
      }
      transcript.lastElementChild.scrollIntoView({ block: "nearest" });
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

  if (text) {
    text.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        text.form.requestSubmit();
      }
    });
  }
})();
