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

// --- Layout: menus (templates/base.html's account menu, the profile's "More") ----------------
// Menus are <details class="menu">: Enter or Space on the summary opens and closes them without
// JavaScript. This adds what a menu is expected to do: Escape closes the open one and gives focus
// back to its summary, a click or focus elsewhere closes it, and opening one closes the others.
(function () {
  "use strict";

  function openMenus() {
    return Array.prototype.slice.call(document.querySelectorAll("details.menu[open]"));
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") {
      return;
    }
    openMenus().forEach(function (menu) {
      var hadFocus = menu.contains(document.activeElement);
      menu.open = false;
      if (hadFocus) {
        menu.querySelector("summary").focus();
      }
    });
  });

  function closeOthers(target) {
    openMenus().forEach(function (menu) {
      if (!menu.contains(target)) {
        menu.open = false;
      }
    });
  }

  document.addEventListener("click", function (event) {
    closeOthers(event.target);
  });
  document.addEventListener("focusin", function (event) {
    closeOthers(event.target);
  });
})();

// --- Theme: light or dark ----------------------------------------------------------------
// Buttons with data-theme-toggle switch between the light and the dark theme. The choice goes in
// the orbit_theme cookie (a year, SameSite=Lax) so that the server writes <html data-theme="...">
// on the next page and the first paint has the right colours (orbit/context_processors.py). Until
// the reader chooses, there is no data-theme and static/orbit.css follows prefers-color-scheme.
// aria-pressed says whether the dark theme is showing, whichever way it came about.
(function () {
  "use strict";

  var COOKIE = "orbit_theme";
  var ONE_YEAR_SECONDS = 365 * 24 * 60 * 60;
  var systemDark = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;

  function shownTheme() {
    var chosen = document.documentElement.getAttribute("data-theme");
    if (chosen === "light" || chosen === "dark") {
      return chosen;
    }
    return systemDark && systemDark.matches ? "dark" : "light";
  }

  function reflect() {
    var dark = shownTheme() === "dark";
    document.querySelectorAll("[data-theme-toggle]").forEach(function (button) {
      button.setAttribute("aria-pressed", dark ? "true" : "false");
    });
  }

  function choose(theme) {
    document.documentElement.setAttribute("data-theme", theme);
    var secure = window.location.protocol === "https:" ? "; Secure" : "";
    document.cookie = COOKIE + "=" + theme + "; Max-Age=" + ONE_YEAR_SECONDS + "; Path=/; SameSite=Lax" + secure;
    reflect();
    // Canvas drawings (the market chart) cannot follow CSS tokens by themselves.
    document.dispatchEvent(new CustomEvent("orbit:themechange", { detail: { theme: theme } }));
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-theme-toggle]");
    if (button) {
      choose(shownTheme() === "dark" ? "light" : "dark");
    }
  });
  // The system switching (at dusk, say) changes what shows while the reader has not chosen.
  if (systemDark && systemDark.addEventListener) {
    systemDark.addEventListener("change", reflect);
  }
  // Toggles that arrive later (an HTMX swap) start in the right state too.
  document.addEventListener("htmx:afterSettle", reflect);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", reflect);
  } else {
    reflect();
  }
})();
