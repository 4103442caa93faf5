// Documents panel: drag-and-drop, chosen-file list and an upload progress bar (htmx:xhr:progress).
// No inline scripts (CSP script-src 'self'); listeners are delegated so swapped content keeps working.
(function () {
  "use strict";
  if (window.custodyDocumentsUpload) { return; }
  window.custodyDocumentsUpload = true;

  function uploadForm(el) {
    return el && el.closest ? el.closest("form[data-upload-form]") : null;
  }

  function formatSize(bytes) {
    if (bytes >= 1048576) { return (bytes / 1048576).toFixed(1) + " MB"; }
    if (bytes >= 1024) { return Math.round(bytes / 1024) + " KB"; }
    return bytes + " B";
  }

  function showFiles(form) {
    const input = form.querySelector("input[type=file]");
    const list = form.querySelector("[data-file-list]");
    if (!input || !list) { return; }
    const max = parseInt(input.dataset.maxBytes || "0", 10);
    list.replaceChildren();
    Array.from(input.files || []).forEach(function (file) {
      const item = document.createElement("li");
      item.textContent = file.name + " (" + formatSize(file.size) + ")";
      if (max && file.size > max) {
        item.className = "text-danger";
        item.textContent += " — " + (input.dataset.tooLarge || "too large");
      }
      list.appendChild(item);
    });
  }

  function progress(form) {
    return {
      wrap: form.querySelector("[data-upload-progress]"),
      bar: form.querySelector("[data-upload-progress-bar]"),
      button: form.querySelector("[data-upload-button]"),
      status: form.querySelector("[data-upload-status]"),
    };
  }

  function setProgress(parts, percent) {
    if (!parts.wrap || !parts.bar) { return; }
    parts.wrap.setAttribute("aria-valuenow", String(percent));
    parts.bar.style.width = percent + "%";
    parts.bar.textContent = percent + "%";
  }

  document.addEventListener("change", function (event) {
    const form = uploadForm(event.target);
    if (form && event.target.matches("input[type=file]")) { showFiles(form); }
  });

  function dropzone(event) {
    return event.target && event.target.closest ? event.target.closest("[data-dropzone]") : null;
  }
  ["dragenter", "dragover"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      const zone = dropzone(event);
      if (!zone) { return; }
      event.preventDefault();
      zone.classList.add("is-dragover");
    });
  });
  document.addEventListener("dragleave", function (event) {
    const zone = dropzone(event);
    if (zone && !zone.contains(event.relatedTarget)) { zone.classList.remove("is-dragover"); }
  });
  document.addEventListener("drop", function (event) {
    const zone = dropzone(event);
    if (!zone) { return; }
    event.preventDefault();
    zone.classList.remove("is-dragover");
    const input = zone.querySelector("input[type=file]");
    if (input && event.dataTransfer && event.dataTransfer.files.length) {
      input.files = event.dataTransfer.files;
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    const form = uploadForm(event.target);
    if (!form || event.target !== form) { return; }
    const parts = progress(form);
    if (parts.status) { parts.status.textContent = ""; }
    if (parts.button) { parts.button.disabled = true; }
    if (parts.wrap) { parts.wrap.classList.remove("d-none"); }
    setProgress(parts, 0);
  });

  document.addEventListener("htmx:xhr:progress", function (event) {
    const form = uploadForm(event.target);
    const detail = event.detail || {};
    if (!form || !detail.total) { return; }
    setProgress(progress(form), Math.min(100, Math.round((detail.loaded / detail.total) * 100)));
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    const form = uploadForm(event.target);
    if (!form || event.target !== form) { return; }
    const parts = progress(form);
    if (parts.button) { parts.button.disabled = false; }
    if (parts.wrap) { parts.wrap.classList.add("d-none"); }
    if (event.detail && event.detail.successful) {
      const input = form.querySelector("input[type=file]");
      if (input) { input.value = ""; }
      showFiles(form);
    } else if (parts.status) {
      parts.status.textContent = form.dataset.failedMessage || "Upload failed.";
    }
  });
})();
