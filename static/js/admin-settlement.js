// The settlement page in admin: while a payment is on its way, fetch the pay-progress fragment
// every 3 s and swap it in (no reload). Stops once the fragment says it is finished: every transfer
// confirmed, or the rest need an operator. A plain script file: the CSP allows no inline script.
(function () {
  "use strict";
  var INTERVAL_MS = 3000;
  // A payment whose task never starts (a worker down) must not poll for ever from an open tab.
  var MAX_POLLS = 200; // ten minutes
  var polls = 0;

  function finished(section) {
    return !section || section.getAttribute("data-finished") === "true";
  }

  function poll() {
    var section = document.getElementById("pay-progress");
    if (finished(section) || polls >= MAX_POLLS) {
      return;
    }
    polls += 1;
    var url = section.getAttribute("data-progress-url");
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("pay progress: HTTP " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("pay-progress");
        if (fresh) {
          section.replaceWith(document.importNode(fresh, true));
          if (fresh.getAttribute("data-status") === "paid") {
            // Paid now: the page's Approve/Pay buttons no longer apply.
            document.querySelectorAll(".settlement-buttons").forEach(function (buttons) {
              buttons.hidden = true;
            });
          }
        }
        window.setTimeout(poll, INTERVAL_MS);
      })
      .catch(function () {
        // A passing failure (a deploy, the network): try again at the next tick.
        window.setTimeout(poll, INTERVAL_MS);
      });
  }

  function start() {
    if (!finished(document.getElementById("pay-progress"))) {
      window.setTimeout(poll, INTERVAL_MS);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
