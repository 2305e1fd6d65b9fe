// Starts Redoc from a file, not an inline script (the site's CSP allows none). Redoc's styles are
// <style> elements, allowed on this page by the response's nonce, which this script tag carries.
(function () {
  "use strict";
  var script = document.currentScript;
  var settings = JSON.parse(script.dataset.settings || "{}");
  settings.nonce = script.nonce;
  Redoc.init(script.dataset.specUrl, settings, document.getElementById("redoc-container"));
})();
