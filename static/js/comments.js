// Orbit: comments on the post page (templates/includes/comments.html and comment.html).
// Everything here is a nicety on top of HTMX: without JavaScript the forms and the Top/Newest
// toggle work as plain forms.
"use strict";
(function () {
  var sortRequested = false;

  // A comment or reply the server took (200): empty the form; a reply form folds away and gives
  // the focus back to its "Reply" toggle. A refusal (4xx) keeps the text, and the message shows
  // in the form's error area (swapped in by the server's answer).
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (!form.matches || !form.matches("form.comment-form") || !event.detail.xhr || event.detail.xhr.status !== 200) {
      return;
    }
    form.reset();
    var details = form.closest("details.reply");
    if (details) {
      details.open = false;
      details.querySelector("summary").focus();
    }
  });

  // Top / Newest: the toggle is swapped with the list, so the pressed option takes the focus back.
  document.addEventListener("htmx:beforeRequest", function (event) {
    sortRequested = Boolean(event.detail.elt.matches && event.detail.elt.matches(".comment-sort-option"));
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!sortRequested) {
      return;
    }
    sortRequested = false;
    var pressed = document.querySelector('#comment-sort [aria-pressed="true"]');
    if (pressed) {
      pressed.focus();
    }
  });

  document.addEventListener("keydown", function (event) {
    var field = event.target;
    if (!field.matches || !field.matches(".comment-form textarea")) {
      return;
    }
    // Ctrl+Enter (Cmd+Enter on a Mac) sends, as in most comment boxes.
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      field.form.requestSubmit();
      return;
    }
    // Escape folds a reply form away, back to its "Reply" toggle.
    var details = field.closest("details.reply");
    if (event.key === "Escape" && details) {
      details.open = false;
      details.querySelector("summary").focus();
    }
  });
})();
