// Orbit: compose. What the compose page (templates/feed/compose.html) adds when JavaScript runs:
//  - the tagger's content type, suggested while the author types (never chosen for them);
//  - the preview in place (the server renders it: the same renderer and sanitizer as the post);
//  - `$` and `@` autocomplete in the text, usable from the keyboard (ARIA combobox and listbox);
//  - "From my trades" fills the trade card in without reloading the page.
// Without it the form still works: Preview and "From my trades" submit the form and come back.
// URLs and words come from the page's data-* attributes (translated there); no inline script (CSP).
(function () {
  "use strict";

  var SUGGEST_DELAY_MS = 600;
  var AUTOCOMPLETE_DELAY_MS = 150;
  var MIN_SUGGEST_CHARS = 8; // non-space characters before a type is worth guessing
  // gunicorn refuses request lines over 4094 bytes: send the start of a long text, encoded, under it.
  var MAX_SUGGEST_QUERY = 3000;
  // The token being typed just before the caret: a cashtag (feed/cashtags.py) or a mention (feed/markdown.py).
  var CASHTAG_TOKEN = /(^|[^A-Za-z0-9_$])\$([A-Za-z][A-Za-z0-9]{0,19})$/;
  var MENTION_TOKEN = /(^|[^\w@])@([A-Za-z0-9_][A-Za-z0-9_.-]{0,29})$/;

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (response) {
      if (!response.ok || response.redirected) {
        throw new Error("HTTP " + response.status);
      }
      return response.json();
    });
  }

  function debounce(fn, wait) {
    var timer = null;
    return function () {
      var args = arguments;
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        fn.apply(null, args);
      }, wait);
    };
  }

  function announce(element, text) {
    if (!element) {
      return;
    }
    // Cleared first so that the same words said twice are announced twice.
    element.textContent = "";
    window.setTimeout(function () {
      element.textContent = text;
    }, 30);
  }

  function setup(root) {
    var form = root.querySelector("form.compose-form");
    var textarea = root.querySelector("textarea[name=body]");
    if (!form || !textarea) {
      return;
    }
    var texts = root.dataset;
    setupTypeSuggestion(root, form, textarea);
    setupPreview(root, form, textarea);
    setupAutocomplete(root, textarea, texts);
    setupFillPicker(root, form, texts);
  }

  // --- The content type the tagger would give -----------------------------------------------

  function setupTypeSuggestion(root, form, textarea) {
    var select = form.querySelector("select[name=content_type]");
    var box = root.querySelector("[data-type-suggestion]");
    if (!select || !box) {
      return;
    }
    var nameSlot = box.querySelector("[data-suggested-name]");
    var useButton = box.querySelector("[data-use-suggestion]");
    var suggested = null;
    var asked = 0;

    function show() {
      // Offered only when it differs from what the author has: the select is theirs, never changed here.
      var differs = suggested && suggested.content_type !== select.value;
      box.hidden = !differs;
      if (differs) {
        nameSlot.textContent = suggested.name;
      }
    }

    function ask() {
      var text = textarea.value;
      if (text.replace(/\s/g, "").length < MIN_SUGGEST_CHARS) {
        suggested = null;
        show();
        return;
      }
      var sample = text.slice(0, 2000);
      while (encodeURIComponent(sample).length > MAX_SUGGEST_QUERY) {
        sample = sample.slice(0, Math.floor(sample.length * 0.8));
      }
      var mine = ++asked;
      getJSON(root.dataset.suggestUrl + "?" + new URLSearchParams({ text: sample }).toString())
        .then(function (answer) {
          if (mine !== asked) {
            return; // a newer question is on its way
          }
          suggested = answer && answer.content_type ? answer : null;
          show();
        })
        .catch(function () {
          /* a suggestion is a nicety: say nothing */
        });
    }

    textarea.addEventListener("input", debounce(ask, SUGGEST_DELAY_MS));
    select.addEventListener("change", show);
    useButton.addEventListener("click", function () {
      if (!suggested) {
        return;
      }
      select.value = suggested.content_type;
      select.dispatchEvent(new Event("change", { bubbles: true }));
      select.focus();
    });
  }

  // --- Preview ----------------------------------------------------------------------------

  function setupPreview(root, form, textarea) {
    var button = root.querySelector("[data-preview-button]");
    var panel = root.querySelector("[data-preview]");
    var content = root.querySelector("[data-preview-content]");
    var close = root.querySelector("[data-preview-close]");
    if (!button || !panel || !content) {
      return;
    }
    if (close) {
      close.hidden = false;
      close.addEventListener("click", function () {
        panel.hidden = true;
        button.setAttribute("aria-expanded", "false");
        button.focus();
      });
    }
    button.setAttribute("aria-expanded", panel.hidden ? "false" : "true");
    button.addEventListener("click", function (event) {
      event.preventDefault();
      var body = new FormData();
      body.append("body", textarea.value);
      body.append("csrfmiddlewaretoken", csrfToken());
      button.setAttribute("aria-busy", "true");
      fetch(root.dataset.previewUrl, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken() }
      })
        .then(function (response) {
          // 200: the preview; 400: a message about the text. Anything else is not ours to show.
          if (response.redirected || (response.status !== 200 && response.status !== 400)) {
            throw new Error("HTTP " + response.status);
          }
          return response.text();
        })
        .then(function (html) {
          // The server's fragment: escaped text or feed.markdown's sanitized HTML, as on the post page.
          content.innerHTML = html;
        })
        .catch(function () {
          var message = document.createElement("p");
          message.className = "error";
          message.textContent = root.dataset.textFailed;
          content.replaceChildren(message);
        })
        .then(function () {
          button.removeAttribute("aria-busy");
          panel.hidden = false;
          button.setAttribute("aria-expanded", "true");
        });
    });
  }

  // --- `$` and `@` autocomplete -----------------------------------------------------------

  function setupAutocomplete(root, textarea, texts) {
    var editor = root.querySelector("[data-compose-editor]");
    var listbox = root.querySelector("[data-compose-listbox]");
    var announcer = root.querySelector("[data-compose-announcer]");
    if (!editor || !listbox) {
      return;
    }
    // ARIA 1.1 combobox: the wrapper is the combobox, the textarea its textbox, the list its popup.
    editor.setAttribute("role", "combobox");
    editor.setAttribute("aria-haspopup", "listbox");
    editor.setAttribute("aria-expanded", "false");
    editor.setAttribute("aria-controls", listbox.id);
    editor.setAttribute("aria-labelledby", "compose-body-label");
    textarea.setAttribute("aria-autocomplete", "list");
    textarea.setAttribute("aria-controls", listbox.id);
    textarea.setAttribute("aria-describedby", "compose-body-help");

    var token = null; // {kind, query, start, end} of the token at the caret
    var options = []; // [{insert, element}]
    var active = -1;
    var cache = {};
    var asked = 0;

    function tokenAtCaret() {
      if (textarea.selectionStart !== textarea.selectionEnd) {
        return null;
      }
      var end = textarea.selectionEnd;
      var before = textarea.value.slice(Math.max(0, end - 40), end);
      var match = CASHTAG_TOKEN.exec(before);
      if (match) {
        return { kind: "asset", query: match[2], start: end - match[2].length - 1, end: end };
      }
      match = MENTION_TOKEN.exec(before);
      if (match) {
        return { kind: "person", query: match[2], start: end - match[2].length - 1, end: end };
      }
      return null;
    }

    function close() {
      listbox.hidden = true;
      listbox.replaceChildren();
      options = [];
      active = -1;
      editor.setAttribute("aria-expanded", "false");
      textarea.removeAttribute("aria-activedescendant");
    }

    function highlight(index) {
      if (!options.length) {
        return;
      }
      active = (index + options.length) % options.length;
      options.forEach(function (option, position) {
        option.element.setAttribute("aria-selected", position === active ? "true" : "false");
      });
      var chosen = options[active].element;
      textarea.setAttribute("aria-activedescendant", chosen.id);
      if (chosen.scrollIntoView) {
        chosen.scrollIntoView({ block: "nearest" });
      }
    }

    function optionElement(kind, row, index) {
      var item = document.createElement("li");
      item.id = "compose-option-" + index;
      item.setAttribute("role", "option");
      item.className = "compose-option";
      var main = document.createElement("span");
      main.className = "compose-option-main";
      var detail = document.createElement("span");
      detail.className = "compose-option-detail";
      if (kind === "asset") {
        main.textContent = "$" + row.symbol;
        detail.textContent = row.listed ? row.name : row.name + " · " + texts.textNotListed;
      } else {
        main.textContent = row.display_name;
        detail.textContent = "@" + row.username;
      }
      item.append(main, detail);
      // mousedown, not click: the textarea keeps its focus and caret.
      item.addEventListener("mousedown", function (event) {
        event.preventDefault();
        insert(index);
      });
      return item;
    }

    function render(kind, rows) {
      listbox.replaceChildren();
      options = rows.map(function (row, index) {
        var element = optionElement(kind, row, index);
        listbox.appendChild(element);
        return { insert: kind === "asset" ? "$" + row.symbol : "@" + row.username, element: element };
      });
      if (!options.length) {
        close();
        announce(announcer, texts.textNoSuggestions);
        return;
      }
      listbox.hidden = false;
      editor.setAttribute("aria-expanded", "true");
      highlight(0);
      announce(announcer, options.length + " · " + texts.textSuggestions);
    }

    function insert(index) {
      var option = options[index];
      if (!option || !token) {
        return;
      }
      var after = textarea.value.charAt(token.end);
      var text = option.insert + (after === " " || after === "\n" ? "" : " ");
      textarea.focus();
      textarea.setRangeText(text, token.start, token.end, "end");
      if (after === " " || after === "\n") {
        textarea.selectionStart = textarea.selectionEnd = token.start + text.length + 1;
      }
      close();
      token = null;
      textarea.dispatchEvent(new Event("input", { bubbles: true }));
    }

    var lookup = debounce(function (wanted) {
      var key = wanted.kind + ":" + wanted.query.toLowerCase();
      if (cache[key]) {
        if (document.activeElement === textarea) {
          render(wanted.kind, cache[key]);
        }
        return;
      }
      var mine = ++asked;
      var url = wanted.kind === "asset" ? root.dataset.assetsUrl : root.dataset.peopleUrl;
      getJSON(url + "?" + new URLSearchParams({ q: wanted.query }).toString())
        .then(function (answer) {
          cache[key] = answer.results || [];
          var current = mine === asked && token && token.kind === wanted.kind && token.query === wanted.query;
          // Not after the author has moved on to another field: the list would cover it.
          if (current && document.activeElement === textarea) {
            render(wanted.kind, cache[key]);
          }
        })
        .catch(close);
    }, AUTOCOMPLETE_DELAY_MS);

    function refresh() {
      var found = tokenAtCaret();
      if (!found) {
        token = null;
        close();
        return;
      }
      var changed = !token || token.kind !== found.kind || token.query !== found.query;
      token = found;
      if (changed) {
        lookup(found);
      }
    }

    textarea.addEventListener("input", refresh);
    textarea.addEventListener("click", refresh);
    textarea.addEventListener("keyup", function (event) {
      if (event.key === "ArrowLeft" || event.key === "ArrowRight" || event.key === "Home" || event.key === "End") {
        refresh();
      }
    });
    textarea.addEventListener("blur", function () {
      window.setTimeout(close, 100);
    });
    textarea.addEventListener("keydown", function (event) {
      if (listbox.hidden || !options.length || event.isComposing) {
        return;
      }
      if (event.key === "ArrowDown") {
        event.preventDefault();
        highlight(active + 1);
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        highlight(active - 1);
      } else if (event.key === "Enter" || event.key === "Tab") {
        if (active >= 0 && !event.shiftKey) {
          event.preventDefault();
          insert(active);
        }
      } else if (event.key === "Escape") {
        event.preventDefault();
        close();
      }
    });
  }

  // --- "From my trades" -------------------------------------------------------------------

  function setupFillPicker(root, form, texts) {
    var picker = root.querySelector("[data-fill-picker]");
    var status = root.querySelector("[data-fill-status]");
    if (!picker) {
      return;
    }
    picker.addEventListener("click", function (event) {
      var button = event.target.closest("[data-fill]");
      if (!button) {
        return;
      }
      event.preventDefault();
      getJSON(root.dataset.fillUrl + "?" + new URLSearchParams({ fill: button.dataset.fill }).toString())
        .then(function (answer) {
          Object.keys(answer.fields).forEach(function (name) {
            var field = form.elements.namedItem(name);
            if (field) {
              field.value = answer.fields[name];
              field.dispatchEvent(new Event("change", { bubbles: true }));
            }
          });
          picker.querySelectorAll("[data-fill]").forEach(function (other) {
            other.setAttribute("aria-pressed", other === button ? "true" : "false");
          });
          announce(status, texts.textFilled);
        })
        .catch(function () {
          announce(status, texts.textFailed);
        });
    });
  }

  function start() {
    document.querySelectorAll("[data-compose]").forEach(setup);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
