// Behaviour without inline scripts (CSP: script-src 'self').
document.addEventListener("change", function (event) {
  const el = event.target;
  if (el.matches("select[data-autosubmit]")) { el.form.submit(); }
});
document.addEventListener("click", function (event) {
  const el = event.target.closest("[data-confirm]");
  if (el && !window.confirm(el.dataset.confirm)) { event.preventDefault(); event.stopImmediatePropagation(); }
});
// Maintenance (body[data-read-only]): forms that would change something become a short notice, and
// lone action buttons are disabled; the server refuses such writes anyway (503).
document.addEventListener("DOMContentLoaded", function () {
  const notice = document.body.dataset.readOnly;
  if (!notice) { return; }
  document.querySelectorAll("form").forEach(function (form) {
    if ((form.getAttribute("method") || "get").toLowerCase() !== "post" || form.hasAttribute("data-maintenance-ok")) { return; }
    const fields = form.querySelectorAll("input:not([type=hidden]):not([type=submit]), textarea, select");
    if (fields.length) {
      const note = document.createElement("div");
      note.className = "alert alert-warning maintenance-form-notice";
      note.setAttribute("role", "status");
      note.textContent = notice;
      form.replaceWith(note);
    } else {
      form.querySelectorAll("button, input[type=submit]").forEach(function (b) { b.disabled = true; b.title = notice; });
    }
  });
});
// A refused write during maintenance (503) shows its notice instead of failing silently.
document.addEventListener("htmx:beforeSwap", function (event) {
  if (event.detail.xhr.status === 503) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
    event.detail.target = document.getElementById("main") || event.detail.target;
    event.detail.swapOverride = "afterbegin";
  }
});
// Export links (and "Save current filters…") carry the filters the screen shows *now*: after an HTMX
// filter change the link's server-rendered href is stale, so on click it is rebuilt from the filter form
// (or the pushed URL).
function currentFilters(formId) {
  const form = formId ? document.getElementById(formId) : null;
  const params = form ? new URLSearchParams() : new URLSearchParams(window.location.search);
  if (form) {
    new FormData(form).forEach(function (value, key) { if (value !== "") params.append(key, value); });
  }
  ["page", "cursor", "format"].forEach(function (key) { params.delete(key); });
  return { form: form, params: params };
}
document.addEventListener("click", function (event) {
  const link = event.target.closest("a[data-export]");
  if (!link) return;
  const current = currentFilters(link.dataset.exportForm);
  current.params.set("format", link.dataset.export);
  const base = current.form ? (current.form.getAttribute("action") || window.location.pathname) : window.location.pathname;
  link.href = base + "?" + current.params.toString();
});
document.addEventListener("click", function (event) {
  const link = event.target.closest("a[data-carry-filters]");
  if (!link) return;
  const query = currentFilters(link.dataset.filterForm).params.toString();
  link.href = link.href.split("?")[0] + (query ? "?" + query : "");
});
// Row selection for bulk actions (custody list, approvals inbox): row boxes join their form with
// form="<id>" and data-select-row; a box with data-select-all="<id>" ticks them all (mixed when some
// are), [data-selected-count] says how many (its data-count-text, "{n} selected"), and buttons marked
// data-needs-selection wait for at least one. Without JavaScript the boxes and buttons still post.
function rowBoxes(formId) {
  return Array.from(document.querySelectorAll('input[data-select-row][form="' + formId + '"]'));
}
function refreshSelection(formId) {
  const form = document.getElementById(formId);
  if (!form) return;
  const boxes = rowBoxes(formId);
  const checked = boxes.filter(function (box) { return box.checked; }).length;
  document.querySelectorAll('input[data-select-all="' + formId + '"]').forEach(function (all) {
    all.checked = boxes.length > 0 && checked === boxes.length;
    all.indeterminate = checked > 0 && checked < boxes.length;
    all.disabled = boxes.length === 0;
  });
  form.querySelectorAll("[data-selected-count]").forEach(function (el) {
    el.textContent = checked ? (el.dataset.countText || "{n}").replace("{n}", checked) : "";
  });
  form.querySelectorAll("[data-needs-selection]").forEach(function (button) { button.disabled = checked === 0; });
}
function refreshAllSelections() {
  document.querySelectorAll("form[data-selection]").forEach(function (form) { refreshSelection(form.id); });
}
document.addEventListener("change", function (event) {
  const el = event.target;
  if (el.matches("input[data-select-all]")) {
    rowBoxes(el.dataset.selectAll).forEach(function (box) { box.checked = el.checked; });
    refreshSelection(el.dataset.selectAll);
  } else if (el.matches("input[data-select-row]") && el.getAttribute("form")) {
    refreshSelection(el.getAttribute("form"));
  }
});
document.addEventListener("DOMContentLoaded", refreshAllSelections);
document.addEventListener("htmx:afterSettle", refreshAllSelections);
window.addEventListener("pageshow", refreshAllSelections);
