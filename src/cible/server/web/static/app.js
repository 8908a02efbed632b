// Draws every chart of the page from its Vega-Lite spec (a JSON script beside it),
// with the vendored vega-embed: no network, no editor links.
"use strict";
function drawCharts(root) {
  if (typeof vegaEmbed !== "function") return;
  root.querySelectorAll("div.vega[data-spec]").forEach(function (target) {
    var source = document.getElementById(target.dataset.spec);
    if (!source || target.dataset.drawn) return;
    target.dataset.drawn = "1";
    vegaEmbed(target, JSON.parse(source.textContent), { actions: false, renderer: "svg" })
      .catch(function (error) { target.textContent = String(error); });
  });
}
document.addEventListener("DOMContentLoaded", function () { drawCharts(document); });
document.addEventListener("htmx:afterSwap", function (event) { drawCharts(event.target); });
// A file over the upload limit is refused before it is sent, with the form's sentence.
document.addEventListener("change", function (event) {
  var input = event.target;
  if (!(input instanceof HTMLInputElement) || input.type !== "file" || !input.dataset.maxBytes) return;
  var file = input.files && input.files[0];
  var tooLarge = file && file.size > Number(input.dataset.maxBytes);
  input.setCustomValidity(tooLarge ? input.dataset.tooLarge : "");
  if (tooLarge) input.reportValidity();
});
