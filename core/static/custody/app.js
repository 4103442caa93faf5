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
// Export links carry the filters the screen shows *now*: after an HTMX filter change the link's
// server-rendered href is stale, so on click it is rebuilt from the filter form (or the pushed URL).
document.addEventListener("click", function (event) {
  const link = event.target.closest("a[data-export]");
  if (!link) return;
  const form = link.dataset.exportForm ? document.getElementById(link.dataset.exportForm) : null;
  const params = form ? new URLSearchParams() : new URLSearchParams(window.location.search);
  if (form) {
    new FormData(form).forEach(function (value, key) { if (value !== "") params.append(key, value); });
  }
  ["page", "cursor", "format"].forEach(function (key) { params.delete(key); });
  params.set("format", link.dataset.export);
  const base = form ? (form.getAttribute("action") || window.location.pathname) : window.location.pathname;
  link.href = base + "?" + params.toString();
});
