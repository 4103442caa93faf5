// Damage marks: tap a zone of the car, add a photo straight from the camera. The photo is resized on
// the phone (long edge at most 2,000 px) and the upload is retried on a weak connection.
(function () {
  "use strict";
  const MAX_EDGE = 2000;
  const ATTEMPTS = 4;

  function selectZone(zone) {
    const select = document.getElementById("zone");
    if (select) select.value = zone;
    document.querySelectorAll(".car-diagram [data-zone]").forEach(function (g) {
      g.classList.toggle("selected", g.dataset.zone === zone);
    });
    const type = document.getElementById("damage_type");
    if (type) type.focus();
  }

  function resize(file) {
    return new Promise(function (resolve) {
      if (!file || !file.type || !file.type.startsWith("image/")) return resolve(file);
      const url = URL.createObjectURL(file);
      const img = new Image();
      img.onload = function () {
        URL.revokeObjectURL(url);
        const scale = Math.min(1, MAX_EDGE / Math.max(img.naturalWidth, img.naturalHeight));
        if (scale === 1 && file.size < 1500000) return resolve(file);
        const canvas = document.createElement("canvas");
        canvas.width = Math.round(img.naturalWidth * scale);
        canvas.height = Math.round(img.naturalHeight * scale);
        canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
        canvas.toBlob(function (blob) {
          resolve(blob ? new File([blob], (file.name || "photo").replace(/\.\w+$/, "") + ".jpg", { type: "image/jpeg" }) : file);
        }, "image/jpeg", 0.85);
      };
      img.onerror = function () { URL.revokeObjectURL(url); resolve(file); };
      img.src = url;
    });
  }

  function wait(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }

  async function send(form, data, status) {
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      try {
        const response = await fetch(form.action, { method: "POST", body: data, credentials: "same-origin" });
        if (response.status < 500) return response;
      } catch (e) { /* network error: retry */ }
      if (attempt < ATTEMPTS) {
        status.textContent = form.dataset.retryMessage;
        await wait(800 * Math.pow(2, attempt - 1));
      }
    }
    return null;
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".car-diagram [data-zone]").forEach(function (g) {
      g.addEventListener("click", function () { selectZone(g.dataset.zone); });
      g.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); selectZone(g.dataset.zone); }
      });
    });
    const form = document.querySelector("[data-mark-form]");
    if (!form) return;
    const input = form.querySelector("input[type=file]");
    const preview = form.querySelector("[data-preview]");
    const status = form.querySelector("[data-upload-status]");
    if (input && preview) {
      input.addEventListener("change", function () {
        if (input.files && input.files[0]) {
          preview.src = URL.createObjectURL(input.files[0]);
          preview.classList.remove("d-none");
        }
      });
    }
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      const data = new FormData(form);
      if (input && input.files && input.files[0]) {
        data.set("photo", await resize(input.files[0]));
      } else {
        data.delete("photo");
      }
      const response = await send(form, data, status);
      if (response && response.ok) {
        window.location.assign(response.url);
        return;
      }
      button.disabled = false;
      if (response) {
        document.open(); document.write(await response.text()); document.close();
      } else {
        status.textContent = form.dataset.failedMessage;
      }
    });
  });
})();
