// First-login tour: steps from <div id="tour-data" data-tour="{json}"> (support/tour.py),
// progress saved on the server after each step (resumable), "Skip" and "Done" recorded.
(function () {
  "use strict";
  var dataEl = document.getElementById("tour-data");
  if (!dataEl) return;
  var data = JSON.parse(dataEl.dataset.tour);
  var steps = data.steps || [];
  var index = Math.min(data.step || 0, steps.length - 1);
  var labels = data.labels || {};
  var card = null;
  var highlighted = null;

  function csrf() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function save(fields) {
    var body = new URLSearchParams(fields);
    return fetch(data.url, {
      method: "POST",
      headers: { "X-CSRFToken": csrf(), "X-Requested-With": "fetch" },
      body: body,
      credentials: "same-origin",
    }).catch(function () { /* the next page resumes from the last saved step */ });
  }

  function visible(el) {
    if (!el) return false;
    var r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  }

  function clear() {
    if (highlighted) highlighted.classList.remove("tour-highlight");
    highlighted = null;
  }

  function close() {
    clear();
    if (card) card.remove();
    card = null;
    document.removeEventListener("keydown", onKey, true);
  }

  function button(text, cls, handler, id) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "btn btn-sm " + cls;
    b.textContent = text;
    if (id) b.id = id;
    b.addEventListener("click", handler);
    return b;
  }

  function place(target) {
    card.style.top = card.style.left = card.style.right = "";
    if (!target) { card.classList.add("tour-centered"); return; }
    card.classList.remove("tour-centered");
    var r = target.getBoundingClientRect();
    var width = card.offsetWidth;
    var left = Math.max(8, Math.min(window.innerWidth - width - 8, r.left + r.width / 2 - width / 2));
    var top = r.bottom + 10;
    if (top + card.offsetHeight > window.innerHeight - 8) top = Math.max(8, r.top - card.offsetHeight - 10);
    card.style.left = left + "px";
    card.style.top = top + "px";
  }

  function show(i) {
    index = i;
    clear();
    var step = steps[i];
    var target = step.selector ? document.querySelector(step.selector) : null;
    if (!visible(target)) target = null;
    if (target) { highlighted = target; target.classList.add("tour-highlight"); }
    if (!card) {
      card = document.createElement("div");
      card.className = "tour-card card shadow";
      card.setAttribute("role", "dialog");
      card.setAttribute("aria-modal", "false");
      card.setAttribute("aria-labelledby", "tour-title");
      card.id = "tour";
      document.body.appendChild(card);
      document.addEventListener("keydown", onKey, true);
    }
    card.innerHTML = "";
    var body = document.createElement("div");
    body.className = "card-body";
    var h = document.createElement("h2");
    h.className = "h6 mb-1";
    h.id = "tour-title";
    h.textContent = step.title;
    var p = document.createElement("p");
    p.className = "small mb-2";
    p.textContent = step.text;
    var count = document.createElement("span");
    count.className = "small text-muted me-auto";
    count.textContent = (i + 1) + " / " + steps.length;
    var row = document.createElement("div");
    row.className = "d-flex gap-2 align-items-center";
    row.appendChild(count);
    row.appendChild(button(labels.skip || "Skip", "btn-link", skip, "tour-skip"));
    if (i > 0) row.appendChild(button(labels.back || "Back", "btn-outline-secondary", function () { show(i - 1); }, "tour-back"));
    if (i < steps.length - 1) {
      row.appendChild(button(labels.next || "Next", "btn-primary", next, "tour-next"));
    } else {
      row.appendChild(button(labels.done || "Done", "btn-primary", done, "tour-done"));
    }
    body.appendChild(h);
    body.appendChild(p);
    body.appendChild(row);
    card.appendChild(body);
    place(target);
    var primary = card.querySelector("#tour-next, #tour-done");
    if (primary) primary.focus();
  }

  function next() { save({ step: index + 1 }); show(index + 1); }
  function skip() { save({ step: index, skipped: "1" }); close(); }
  function done() { save({ step: steps.length, done: "1" }); close(); }
  function onKey(event) { if (event.key === "Escape") { event.stopPropagation(); skip(); } }

  if (steps.length) {
    window.addEventListener("resize", function () { if (card) show(index); });
    show(index);
  }
})();
