// newspipe's web page: a little progressive JavaScript. Every page works without it; with it, the status
// page refreshes itself from /v1/status (same origin, the login cookie) every few seconds.
"use strict";

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function rate(value) {
  return value === null || value === undefined ? "-" : value.toFixed(1);
}

async function refreshStatus(page) {
  try {
    const response = await fetch("/v1/status", { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error("HTTP " + response.status);
    const status = await response.json();
    const body = document.querySelector("#queues tbody");
    const rows = status.queues.map((q) => {
      const tr = document.createElement("tr");
      tr.append(cell(q.name, "queue-name"), cell(String(q.messages), "num"), cell(String(q.consumers), "num"),
        cell(rate(q.in_per_second), "num"), cell(rate(q.out_per_second), "num"));
      return tr;
    });
    body.replaceChildren(...rows);
    const set = (id, text) => { const el = document.getElementById(id); if (el) el.textContent = text; };
    set("count-stored", String(status.outcomes.stored));
    set("count-skipped", String(status.outcomes.skipped));
    set("count-failed", String(status.outcomes.failed));
    set("count-articles", String(status.articles));
    set("count-dead", String(status.dead_letters));
    set("throughput", status.outcomes_per_second.toFixed(2));
    set("status-updated", new Date().toISOString().replace(/\.\d+Z$/, "Z"));
    page.querySelector("#status-error").hidden = true;
  } catch (error) {
    const note = page.querySelector("#status-error");
    note.textContent = "Could not refresh: " + error.message + " (retrying)";
    note.hidden = false;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const page = document.querySelector("[data-refresh]");
  if (page) {
    const every = Number(page.dataset.refresh) * 1000;
    setInterval(() => refreshStatus(page), every);
  }
});
