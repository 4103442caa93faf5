// Live subtotal / VAT / total while typing a charge (display only; the server computes the real figures).
(function () {
  function money(n) { return (Math.round(n * 100) / 100).toFixed(2); }
  document.addEventListener("input", function (event) {
    const form = event.target.closest("form[data-live-totals]");
    if (!form) { return; }
    const qty = parseFloat(form.elements.quantity.value || "0");
    const price = parseFloat(form.elements.unit_price.value || "0");
    const rateField = form.elements.tax_rate.value;
    const rate = rateField === "" ? parseFloat(form.dataset.defaultRate || "5") : parseFloat(rateField);
    const subtotal = Math.round(qty * price * 100) / 100;
    const tax = Math.round(subtotal * rate) / 100;
    const preview = form.querySelector("[data-totals-preview]");
    if (preview && !isNaN(subtotal) && !isNaN(tax)) {
      preview.textContent = money(subtotal) + " + " + money(tax) + " = " + money(subtotal + tax);
    }
  });
})();
