// Orbit's page glue: the time-spent beacon and small HTMX niceties. No inline script anywhere (CSP).
(function () {
  "use strict";

  // --- Time spent on a post -------------------------------------------------------------
  // Counts the milliseconds a post is on screen while the tab is visible, and reports them in
  // one batch with navigator.sendBeacon when the page hides (tab switch, app switch, close), and
  // every few minutes while it shows. Each post goes back with the render token the server put in
  // its data-dwell-token: the server counts time only against it, and only for 30 minutes after
  // the page was served, so a long read is reported before the token runs out.
  // sendBeacon cannot set headers, so the CSRF token travels as a form field.
  var MIN_REPORT_MS = 500;
  var REPORT_EVERY_MS = 4 * 60 * 1000;
  var tracked = [];

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function pageVisible() {
    return document.visibilityState === "visible";
  }

  function startTracking() {
    var elements = document.querySelectorAll("[data-dwell-post]");
    elements.forEach(function (element) {
      var entry = {
        post: Number(element.dataset.dwellPost),
        url: element.dataset.dwellUrl,
        token: element.dataset.dwellToken || "",
        ms: 0,
        since: null,
        onScreen: true
      };
      tracked.push(entry);
      if ("IntersectionObserver" in window) {
        new IntersectionObserver(function (changes) {
          changes.forEach(function (change) {
            entry.onScreen = change.isIntersecting;
            update(entry);
          });
        }).observe(element);
      }
      update(entry);
    });
  }

  // Start or stop an entry's clock to match whether it can be seen right now.
  function update(entry) {
    var now = performance.now();
    var seen = entry.onScreen && pageVisible();
    if (seen && entry.since === null) {
      entry.since = now;
    } else if (!seen && entry.since !== null) {
      entry.ms += now - entry.since;
      entry.since = null;
    }
  }

  function flush() {
    var batches = {};
    tracked.forEach(function (entry) {
      var running = entry.since !== null;
      if (running) {
        entry.ms += performance.now() - entry.since;
        entry.since = null;
      }
      if (entry.ms >= MIN_REPORT_MS) {
        (batches[entry.url] = batches[entry.url] || []).push({ post: entry.post, ms: Math.round(entry.ms), token: entry.token });
        entry.ms = 0;
      }
      if (running) {
        update(entry);
      }
    });
    Object.keys(batches).forEach(function (url) {
      var body = new URLSearchParams();
      body.append("csrfmiddlewaretoken", csrfToken());
      body.append("items", JSON.stringify(batches[url]));
      if (navigator.sendBeacon) {
        navigator.sendBeacon(url, body);
      }
    });
  }

  document.addEventListener("visibilitychange", function () {
    if (!pageVisible()) {
      flush();
    }
    tracked.forEach(update);
  });
  window.addEventListener("pagehide", flush);
  window.setInterval(function () {
    if (tracked.length && pageVisible()) {
      flush();
    }
  }, REPORT_EVERY_MS);

  // --- Small conveniences ---------------------------------------------------------------
  document.addEventListener("focusin", function (event) {
    if (event.target.matches && event.target.matches("[data-select-on-focus]")) {
      event.target.select();
    }
  });

  // A request that could not reach the server at all gets a message instead of silence.
  document.addEventListener("htmx:sendError", function () {
    var flash = document.getElementById("flash");
    if (flash) {
      var message = document.createElement("p");
      message.className = "flash-message flash-error";
      message.setAttribute("role", "alert");
      message.textContent = flash.dataset.networkError; // translated by the template, like every other string
      flash.replaceChildren(message);
    }
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", startTracking);
  } else {
    startTracking();
  }
})();
