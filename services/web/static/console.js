// Registrum console: progressive enhancement only. Every page works without this file.
"use strict";

// The strip of recent promotions refreshes itself while the page is open.
function refreshLive(strip, timer) {
  const target = strip.querySelector(".live-items");
  fetch(strip.dataset.live, {
    credentials: "same-origin",
    headers: { Accept: "text/html" },
    redirect: "manual", // a session that ended answers with the sign-in page: not ours
  })
    .then((response) => {
      if (response.ok && !response.redirected) return response.text();
      strip.hidden = true; // the session ended, or the registry cannot answer: stop
      clearInterval(timer.id);
      return Promise.reject(response.status);
    })
    .then((html) => {
      const parsed = new DOMParser().parseFromString(html, "text/html");
      target.replaceChildren(...parsed.body.childNodes);
      strip.hidden = false; // shown once it has something to show (never without script)
    })
    .catch(() => { /* unreachable for now: the next tick tries again */ });
}

// Tables marked sortable sort by a column when its header button is pressed.
function sortable(table) {
  const headers = table.querySelectorAll("thead th[data-sort]");
  headers.forEach((th, column) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "secondary sort";
    button.textContent = th.textContent;
    th.textContent = "";
    th.appendChild(button);
    th.setAttribute("aria-sort", "none");
    button.addEventListener("click", () => {
      const ascending = th.getAttribute("aria-sort") !== "ascending";
      headers.forEach((other) => other.setAttribute("aria-sort", "none"));
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      const index = Array.from(th.parentNode.children).indexOf(th);
      const numeric = th.dataset.sort === "number";
      const rows = Array.from(table.tBodies[0].rows);
      const key = (row) => {
        const text = (row.cells[index] || { textContent: "" }).textContent.trim();
        const number = parseFloat(text);
        return numeric ? (Number.isNaN(number) ? -Infinity : number) : text.toLowerCase();
      };
      rows.sort((a, b) => {
        const x = key(a), y = key(b);
        return (x < y ? -1 : x > y ? 1 : 0) * (ascending ? 1 : -1);
      });
      table.tBodies[0].append(...rows);
    });
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const strip = document.querySelector("[data-live]");
  if (strip) {
    const timer = {};
    refreshLive(strip, timer);
    timer.id = setInterval(() => refreshLive(strip, timer), 10000);
  }
  document.querySelectorAll("table.sortable").forEach(sortable);
});
