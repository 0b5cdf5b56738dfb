// The FAQ form's character counter. The page works without it (the server counts too).
"use strict";

(function () {
  const answer = document.getElementById("risposta");
  const counter = document.getElementById("risposta-conteggio");
  const announcer = document.getElementById("risposta-annuncio");
  if (!answer || !counter) {
    return;
  }
  const limit = Number(answer.dataset.limit);
  const count = counter.querySelector(".faq-count");
  let over = null;

  function update() {
    // Characters as the server counts them (an emoji is one, not two).
    const length = Array.from(answer.value).length;
    count.textContent = String(length);
    const now = length > limit;
    counter.classList.toggle("text-danger", now);
    counter.classList.toggle("fw-semibold", now);
    // Screen readers hear only when the limit is crossed, not every key.
    if (over !== null && now !== over && announcer) {
      announcer.textContent = now
        ? "La risposta supera i " + limit + " caratteri."
        : "La risposta è di nuovo entro i " + limit + " caratteri.";
    }
    over = now;
  }

  answer.addEventListener("input", update);
  update();
})();
