// Behaviour without inline scripts (CSP: script-src 'self').
document.addEventListener("change", function (event) {
  const el = event.target;
  if (el.matches("select[data-autosubmit]")) { el.form.submit(); }
});
document.addEventListener("click", function (event) {
  const el = event.target.closest("[data-confirm]");
  if (el && !window.confirm(el.dataset.confirm)) { event.preventDefault(); event.stopImmediatePropagation(); }
});
