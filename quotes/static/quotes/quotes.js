// Quote editor: "Add line" clones the empty line form (Django formset) and renumbers the management form.
// No inline scripts (CSP); live totals come from the server through HTMX.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-add-line]");
    if (!button) { return; }
    const form = button.closest("form");
    const template = document.getElementById("line-template");
    const total = form.querySelector("input[name='lines-TOTAL_FORMS']");
    const rows = document.getElementById("quote-line-rows");
    if (!template || !total || !rows) { return; }
    const index = parseInt(total.value, 10) || 0;
    const html = template.innerHTML.replace(/__prefix__/g, String(index));
    rows.insertAdjacentHTML("beforeend", html);
    total.value = String(index + 1);
    const first = rows.lastElementChild && rows.lastElementChild.querySelector("select, input:not([type=hidden])");
    if (first) { first.focus(); }
    if (window.htmx) { window.htmx.process(rows.lastElementChild); }
  });
})();
