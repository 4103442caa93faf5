// Keyboard shortcuts: ? (this list), g d / g c / g a (go to), n (new custody), / (search).
// Targets come from data-shortcut-* attributes on <body>, so no URL is hard-coded here.
(function () {
  "use strict";
  var pendingG = false;
  var timer = null;

  function typing(el) {
    if (!el) return false;
    var tag = el.tagName;
    return el.isContentEditable || tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
  }

  function go(name) {
    var url = document.body.dataset["shortcut" + name];
    if (url) window.location.assign(url);
  }

  function focusSearch() {
    var field = document.querySelector("main input[type=search], main input[name=q]");
    if (field) { field.focus(); field.select(); return; }
    var url = document.body.dataset.shortcutSearch;
    if (url) window.location.assign(url);
  }

  function showHelp() {
    var el = document.getElementById("shortcuts-help");
    if (el && window.bootstrap) window.bootstrap.Modal.getOrCreateInstance(el).show();
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target) || document.querySelector(".modal.show")) return;
    var key = event.key;
    if (pendingG) {
      pendingG = false;
      clearTimeout(timer);
      var target = { d: "Dashboard", c: "Custodies", a: "Approvals" }[key];
      if (target) { event.preventDefault(); go(target); }
      return;
    }
    if (key === "g") { pendingG = true; timer = setTimeout(function () { pendingG = false; }, 1500); return; }
    if (key === "?") { event.preventDefault(); showHelp(); return; }
    if (key === "n") { event.preventDefault(); go("New"); return; }
    if (key === "/") { event.preventDefault(); focusSearch(); }
  });
})();
