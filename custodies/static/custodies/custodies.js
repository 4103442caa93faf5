// Custody pages: pickers, dependent selects, prefill, modals. No inline scripts (CSP script-src 'self').
(function () {
  "use strict";

  function setPicked(picker, value, label) {
    if (!picker) { return; }
    var input = picker.querySelector("[data-picker-value]");
    var picked = picker.querySelector("[data-picker-picked]");
    var text = picker.querySelector("[data-picker-label]");
    var search = picker.querySelector("[data-picker-search]");
    var results = picker.querySelector("[data-picker-results]");
    if (input) { input.value = value || ""; }
    if (text) { text.textContent = label || ""; }
    if (picked) { picked.hidden = !value; }
    if (search) { search.value = ""; search.classList.remove("is-invalid"); }
    if (results) { results.innerHTML = ""; }
  }

  function setField(form, name, value, label) {
    var picker = form.querySelector('[data-picker="' + name + '"]');
    if (picker) { setPicked(picker, value, label); return; }
    var field = form.elements.namedItem(name);
    if (field && "value" in field) { field.value = value; }
  }

  document.addEventListener("click", function (event) {
    var item = event.target.closest("[data-pick]");
    if (item) {
      var picker = item.closest("[data-picker]");
      var form = item.closest("form");
      setPicked(picker, item.dataset.value, item.dataset.label);
      // data-fill-<field>="value" and data-fill-<field>-label="text" fill related fields.
      Array.prototype.forEach.call(item.attributes, function (attr) {
        var match = /^data-fill-(.+?)(-label)?$/.exec(attr.name);
        if (!match || match[2] || !form) { return; }
        setField(form, match[1], attr.value, item.getAttribute("data-fill-" + match[1] + "-label") || "");
      });
      return;
    }
    var clear = event.target.closest("[data-picker-clear]");
    if (clear) {
      var box = clear.closest("[data-picker]");
      setPicked(box, "", "");
      var search = box.querySelector("[data-picker-search]");
      if (search) { search.focus(); }
    }
  });

  // Enter in a picker's search box searches; it must not submit the wizard step.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.target.matches("[data-picker-search]")) { event.preventDefault(); }
  });

  // Reason detail options follow the chosen reason.
  function filterSubcodes(select) {
    var reasonField = document.getElementById(select.dataset.subcodeFor);
    if (!reasonField) { return; }
    var reason = reasonField.value;
    Array.prototype.forEach.call(select.options, function (option) {
      if (!option.value) { return; }
      var show = option.dataset.reason === reason;
      option.hidden = !show;
      option.disabled = !show;
      if (!show && option.selected) { select.value = ""; }
    });
  }

  // Custodian "customer" fills in the customer's details; switching away clears them again.
  var CUSTODIAN_FIELDS = { custodian_name: "name", custodian_phone: "phone", custodian_email: "email", custodian_id_no: "idNo" };
  function custodianChanged(radio) {
    var form = radio.closest("[data-customer-prefill]");
    if (!form) { return; }
    Object.keys(CUSTODIAN_FIELDS).forEach(function (name) {
      var field = form.elements.namedItem(name);
      var customerValue = form.dataset[CUSTODIAN_FIELDS[name]] || "";
      if (!field) { return; }
      if (radio.value === "customer") {
        if (!field.value) { field.value = customerValue; }
      } else if (field.value === customerValue) {
        field.value = "";
      }
    });
  }

  function ratePolicyChanged(form) {
    var checked = form.querySelector('input[name="rate_policy"]:checked');
    form.querySelectorAll("[data-show-when-rate]").forEach(function (el) {
      el.hidden = !checked || checked.value !== el.dataset.showWhenRate;
    });
  }

  function untilReadyChanged(checkbox) {
    var form = checkbox.form;
    var expected = form && form.elements.namedItem("expected_return_at");
    if (expected) { expected.disabled = checkbox.checked; }
  }

  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.id === "id_reason_code") {
      document.querySelectorAll('select[data-subcode-for="id_reason_code"]').forEach(filterSubcodes);
    }
    if (el.name === "custodian_type") { custodianChanged(el); }
    if (el.name === "rate_policy" && el.form) { ratePolicyChanged(el.form); }
    if (el.name === "until_original_ready") { untilReadyChanged(el); }
  });

  // A row of tabs wider than the screen scrolls; mark the edges with more tabs beyond them.
  // scrollLeft runs from 0 at the start of the row (negative towards the end on right-to-left pages).
  function updateScrollHint(wrap) {
    var area = wrap.querySelector("[data-scroll-area]");
    if (!area) { return; }
    var position = Math.abs(area.scrollLeft);
    var room = area.scrollWidth - area.clientWidth;
    wrap.classList.toggle("more-start", position > 2);
    wrap.classList.toggle("more-end", room - position > 2);
  }

  function initScrollHint(wrap) {
    var area = wrap.querySelector("[data-scroll-area]");
    if (!area) { return; }
    area.addEventListener("scroll", function () { updateScrollHint(wrap); }, { passive: true });
    window.addEventListener("resize", function () { updateScrollHint(wrap); });
    updateScrollHint(wrap);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-scroll-step]");
    if (!button) { return; }
    var area = button.parentElement.querySelector("[data-scroll-area]");
    if (!area) { return; }
    var towardsEnd = Number(button.dataset.scrollStep) > 0;
    var rtl = window.getComputedStyle(area).direction === "rtl";
    var step = area.clientWidth * 0.7 * (towardsEnd ? 1 : -1) * (rtl ? -1 : 1);
    area.scrollBy({ left: step, behavior: "smooth" });
  });

  // The wizard's replacement step: "Pick" in the availability calendar ticks that car in the list.
  function syncPicked(form) {
    if (!form) { return; }
    var checked = form.querySelector('input[name="replacement_vehicle_id"]:checked');
    form.querySelectorAll("[data-pick-replacement]").forEach(function (button) {
      button.setAttribute("aria-pressed", String(!!checked && checked.value === button.dataset.pickReplacement));
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-pick-replacement]");
    if (!button) { return; }
    var form = button.closest("form");
    var radio = form && form.querySelector('input[name="replacement_vehicle_id"][value="' + button.dataset.pickReplacement + '"]');
    if (!radio) { return; }
    radio.checked = true;
    radio.dispatchEvent(new Event("change", { bubbles: true }));
    var item = radio.closest("label") || radio;
    item.scrollIntoView({ block: "center", behavior: "smooth" });
    radio.focus({ preventScroll: true });
  });

  document.addEventListener("change", function (event) {
    if (event.target.name === "replacement_vehicle_id") { syncPicked(event.target.form); }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (target && (target.id === "replacement-calendar" || target.id === "replacement-options")) {
      syncPicked(target.closest("form"));
    }
  });

  // Remember the open tab in the address bar so a reload or a shared link opens it again.
  document.addEventListener("shown.bs.tab", function (event) {
    event.target.scrollIntoView({ block: "nearest", inline: "nearest" });
    var tab = event.target.dataset.tab;
    if (!tab || !window.history.replaceState) { return; }
    var url = new URL(window.location.href);
    url.searchParams.set("tab", tab);
    window.history.replaceState(null, "", url.toString());
  });

  // Filter forms send only the filters in use, so the address stays short and shareable.
  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    if (!elt || !elt.matches || !elt.matches("form[data-drop-empty]") || !event.detail.formData) { return; }
    var data = event.detail.formData;
    Array.from(new Set(Array.from(data.keys()))).forEach(function (key) {
      var values = data.getAll(key).filter(function (value) { return value !== ""; });
      data.delete(key);
      values.forEach(function (value) { data.append(key, value); });
    });
  });

  function init() {
    document.querySelectorAll("select[data-subcode-for]").forEach(filterSubcodes);
    document.querySelectorAll('input[name="until_original_ready"]').forEach(untilReadyChanged);
    // On a phone the tab bar scrolls sideways: bring the open tab (?tab=…) into view.
    var activeTab = document.querySelector(".custody-tabs .nav-link.active");
    if (activeTab) { activeTab.scrollIntoView({ block: "nearest", inline: "nearest" }); }
    document.querySelectorAll("[data-scroll-hint]").forEach(initScrollHint);
    // An action whose form came back with errors opens again.
    document.querySelectorAll(".modal[data-show-on-load]").forEach(function (el) {
      if (window.bootstrap) { window.bootstrap.Modal.getOrCreateInstance(el).show(); }
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
