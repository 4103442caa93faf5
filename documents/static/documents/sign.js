// Signing page: a signature pad (mouse, pen, touch) whose PNG goes into a hidden input on "Sign".
// Uses signature_pad (static vendor/signature_pad/signature_pad.umd.min.js); no inline scripts.
(function () {
  "use strict";

  function init(form) {
    const canvas = form.querySelector("canvas[data-signature-pad]");
    const input = form.querySelector("[data-signature-input]");
    const error = form.querySelector("[data-signature-error]");
    const clear = form.querySelector("[data-signature-clear]");
    if (!canvas || !input || typeof window.SignaturePad === "undefined") { return; }
    const pad = new window.SignaturePad(canvas, {
      backgroundColor: "rgb(255, 255, 255)",
      penColor: "rgb(17, 24, 39)",
      minWidth: 0.8,
      maxWidth: 2.6,
    });
    let lastWidth = 0;

    function resize() {
      // Size the drawing buffer to the displayed size (sharp on high-DPI phones), keeping the strokes.
      const width = canvas.offsetWidth;
      if (!width || width === lastWidth) { return; }
      lastWidth = width;
      const ratio = Math.max(window.devicePixelRatio || 1, 1);
      const strokes = pad.toData();
      canvas.width = width * ratio;
      canvas.height = canvas.offsetHeight * ratio;
      canvas.getContext("2d").scale(ratio, ratio);
      pad.clear();
      if (strokes.length) { pad.fromData(strokes); }
    }

    window.addEventListener("resize", resize);
    resize();

    pad.addEventListener("beginStroke", function () {
      if (error) { error.textContent = ""; }
    });

    if (clear) {
      clear.addEventListener("click", function () {
        pad.clear();
        input.value = "";
      });
    }

    form.addEventListener("submit", function (event) {
      const submitter = event.submitter;
      if (!submitter || submitter.value !== "sign") { return; }
      if (pad.isEmpty()) {
        event.preventDefault();
        if (error) { error.textContent = form.dataset.emptyMessage || "Sign in the box first."; }
        canvas.scrollIntoView({ block: "center" });
        return;
      }
      input.value = pad.toDataURL("image/png");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-sign-form]").forEach(init);
  });
})();
