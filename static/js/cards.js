// Orbit: cards. The share menu's copy button, Escape to close a card's menu, and a paused
// "N new posts" poll while the tab is hidden. No inline script anywhere (CSP).
(function () {
  "use strict";

  // Copy the tracked share link, then say so where a screen reader hears it (role=status).
  function copyFrom(box) {
    var input = box.querySelector(".share-url");
    var status = box.querySelector("[data-copy-status]");
    if (!input) { return; }
    function say(text) { if (status) { status.textContent = text; } }
    function fallback() {
      input.focus();
      input.select();
      var copied = false;
      try { copied = document.execCommand("copy"); } catch (error) { copied = false; }
      say(copied ? box.dataset.copied || "Copied" : box.dataset.pressCopy || "");
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(function () {
        say(box.dataset.copied || "Copied");
      }, fallback);
    } else {
      fallback();
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (button) {
      copyFrom(button.closest("[data-share-box]"));
    }
  });

  // The "Copy link" button made the link (HTMX swapped the box in): copy it straight away.
  document.addEventListener("htmx:load", function (event) {
    var box = event.detail && event.detail.elt;
    if (box && box.matches && box.matches("[data-share-box]") && box.closest(".share-menu")) {
      copyFrom(box);
    }
  });

  // Escape closes an open share menu or disclosure and gives focus back to its summary.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var open = event.target.closest && event.target.closest("details.share-menu[open], details.disclosure[open]");
    if (open) {
      open.open = false;
      var summary = open.querySelector("summary");
      if (summary) { summary.focus(); }
    }
  });

  // A click outside an open share menu closes it.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.share-menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) { menu.open = false; }
    });
  });

  // "N new posts" polls only while someone can see the page.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var element = event.detail && event.detail.elt;
    if (element && element.hasAttribute && element.hasAttribute("data-new-posts") && document.visibilityState !== "visible") {
      event.preventDefault();
    }
  });
})();
