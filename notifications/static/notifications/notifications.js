// The header bell (CSP: no inline scripts). HTMX polls the unread count every 30 s; skip the poll
// while the tab is hidden and refresh as soon as it is shown again.
(function () {
  "use strict";
  document.addEventListener("htmx:beforeRequest", function (event) {
    var el = event.detail && event.detail.elt;
    if (el && el.id === "notification-badge" && document.visibilityState === "hidden") {
      event.preventDefault();
    }
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && window.htmx && document.getElementById("notification-badge")) {
      window.htmx.trigger(document.body, "notifications-changed");
    }
  });
})();
