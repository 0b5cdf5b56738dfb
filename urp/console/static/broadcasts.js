// The broadcast pages: the memo's live preview (rendered by the server's format_memo),
// items added and removed, the confirmation before sending, the live counts.
"use strict";

(function () {
  const form = document.getElementById("memo-form");
  if (form) {
    const preview = document.getElementById("memo-preview");
    const problems = document.getElementById("memo-problems");
    const recipients = document.getElementById("memo-recipients");
    const estimate = document.getElementById("memo-estimate");
    const items = Array.from(form.querySelectorAll(".memo-item"));
    const add = document.getElementById("add-item");
    let audience = null;
    let cost = null;
    let timer = null;

    function render(data) {
      preview.innerHTML = "";
      for (const html of data.bubbles) {
        const bubble = document.createElement("li");
        bubble.className = "whatsapp-bubble";
        bubble.innerHTML = html; // escaped by the server, only <strong> and <br> added
        preview.appendChild(bubble);
      }
      problems.innerHTML = "";
      for (const text of data.problems) {
        const line = document.createElement("li");
        line.textContent = text;
        problems.appendChild(line);
      }
      audience = data.recipients;
      recipients.textContent = audience === null ? "" :
        (audience === 1 ? "Lo riceverà 1 iscritto." : "Lo riceveranno " + audience + " iscritti.");
      // Inside and outside the 24-hour window, the template's category, the cost.
      cost = data.estimate ? data.estimate.cost : null;
      estimate.textContent = data.estimate ? data.estimate.text : "";
    }

    function refresh() {
      fetch(form.dataset.preview, { method: "POST", body: new FormData(form), credentials: "same-origin" })
        .then((response) => (response.ok ? response.json() : null))
        .then((data) => { if (data) { render(data); } });
    }

    form.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(refresh, 250);
    });

    // With the script, one item at a time; without it, all the fieldsets are there.
    function shown() { return items.filter((item) => !item.hidden); }
    function update() {
      add.hidden = shown().length === items.length;
      for (const item of items) {
        item.querySelector(".remove-item").hidden = shown().length === 1;
      }
    }
    items.forEach((item, index) => {
      const blank = !Array.from(item.querySelectorAll("input, textarea, select")).some((f) => f.value);
      item.hidden = index > 0 && blank;
      item.querySelector(".remove-item").addEventListener("click", () => {
        for (const field of item.querySelectorAll("input, textarea, select")) { field.value = ""; }
        item.hidden = true;
        update();
        refresh();
        add.focus();
      });
    });
    add.addEventListener("click", () => {
      const next = items.find((item) => item.hidden);
      if (next) {
        next.hidden = false;
        next.querySelector("input").focus();
      }
      update();
    });
    update();
    refresh();

    form.addEventListener("submit", (event) => {
      // Whole phrases, the preposition joined to its article: «agli iscritti».
      const who = audience === null ? "agli iscritti" : (audience === 1 ? "a 1 iscritto" : "a " + audience + " iscritti");
      const price = cost === null ? "" : " Costo stimato: " + cost + ".";
      if (!window.confirm("Pubblicare il memo e inviarlo " + who + "?" + price)) {
        event.preventDefault();
      }
    });
  }

  const emergency = document.getElementById("emergency-form");
  if (emergency) {
    const estimate = document.getElementById("emergency-estimate");
    let cost = null;
    let timer = null;
    function estimateEmergency() {
      fetch(emergency.dataset.estimate, { method: "POST", body: new FormData(emergency), credentials: "same-origin" })
        .then((response) => (response.ok ? response.json() : null))
        .then((data) => {
          if (!data) { return; }
          cost = data.estimate ? data.estimate.cost : null;
          estimate.textContent = data.estimate ? data.estimate.text : "";
        });
    }
    emergency.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(estimateEmergency, 250);
    });
    emergency.addEventListener("submit", (event) => {
      const price = cost === null ? "" : " Costo stimato: " + cost + ".";
      if (!window.confirm("Inviare subito l'avviso di emergenza a chi segue il tema scelto?" + price)) {
        event.preventDefault();
      }
    });
  }

  const live = document.querySelector("[data-broadcast-stream]");
  if (live && window.EventSource) {
    const stream = new EventSource(live.dataset.broadcastStream);
    const summary = document.getElementById("broadcast-summary");
    stream.addEventListener("broadcast", (event) => {
      const data = JSON.parse(event.data);
      for (const box of document.querySelectorAll('[data-broadcast="' + data.id + '"]')) {
        const numbers = Object.assign({ total: data.total, done: data.total - data.counts.pending }, data.counts);
        for (const cell of box.querySelectorAll("[data-count]")) {
          cell.textContent = numbers[cell.dataset.count];
        }
        for (const label of box.querySelectorAll('[data-field="status_label"]')) {
          label.textContent = data.status_label;
        }
        // The progress bar: done, then the rows waiting for Meta's messaging limit.
        for (const bar of box.querySelectorAll("progress[data-bar]")) {
          bar.max = data.total || 1;
          bar.value = bar.dataset.bar === "done" ? numbers.done : data.counts.waiting;
        }
        for (const waiting of box.querySelectorAll('[data-field="waiting"]')) {
          waiting.textContent = data.counts.waiting ? data.counts.waiting +
            " destinatari aspettano il limite di Meta: ripartono da soli il " + data.resumes_at +
            (data.finishes_at ? ", fine prevista il " + data.finishes_at : "") + "." : "";
        }
        for (const cost of box.querySelectorAll('[data-field="cost"]')) {
          cost.textContent = data.cost;
        }
      }
      for (const alert of document.querySelectorAll('[data-field="paused"]')) {
        alert.hidden = data.status !== "paused";
      }
      for (const form of document.querySelectorAll("[data-shown-when]")) {
        form.hidden = form.dataset.shownWhen !== data.status;
      }
      if (summary) {
        const done = data.total - data.counts.pending;
        summary.textContent = "Invio " + data.status_label + ": " + done + " su " + data.total + " completati.";
      }
    });
    stream.addEventListener("session", () => {
      stream.close();
      window.location.assign("/login?motivo=scaduta");
    });
  }
})();
