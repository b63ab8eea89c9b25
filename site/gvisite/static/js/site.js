// Enhancements only: the site works fully without this file.
(function () {
  "use strict";

  // --- Quick exit ------------------------------------------------------------------------------
  // After GOV.UK Frontend's "Exit this page": the button, or Shift pressed three times on its own
  // (each press within PRESS_WINDOW of the last), blanks the page at once and leaves. We go
  // further: location.replace() swaps the current history entry for the neutral site, so Back
  // does not return here, and a page brought back from the back/forward cache stays blank.
  var PRESS_WINDOW = 5000; // milliseconds, as GOV.UK
  var LEAVING_CLASS = "quick-exit-leaving";
  var root = document.querySelector("[data-quick-exit-root]");
  var button = root && root.querySelector("a[data-quick-exit]");
  var status = root && root.querySelector("[data-quick-exit-status]");

  if (root && button && status) {
    var presses = 0;
    var pressTimer = null;
    var clearTimer = null;

    // Live-region text is set after the region exists, so screen readers announce each change.
    var announce = function (text) {
      status.textContent = text;
    };

    var stopTimers = function () {
      window.clearTimeout(pressTimer);
      window.clearTimeout(clearTimer);
      pressTimer = clearTimer = null;
    };

    var leave = function () {
      stopTimers();
      presses = 0;
      announce("");
      // Blank first, then navigate: on a slow connection the page must not stay readable.
      document.documentElement.classList.add(LEAVING_CLASS);
      if (!document.querySelector(".quick-exit-overlay")) {
        var overlay = document.createElement("div");
        overlay.className = "quick-exit-overlay";
        overlay.setAttribute("role", "alert");
        document.body.appendChild(overlay);
        overlay.textContent = root.dataset.leaving;
      }
      // The tab title would otherwise name this page until the next one has loaded.
      document.title = root.dataset.leaving;
      window.location.replace(button.href);
    };

    var expire = function () {
      stopTimers();
      presses = 0;
      announce(root.dataset.expired);
      clearTimer = window.setTimeout(function () {
        announce("");
      }, PRESS_WINDOW);
    };

    button.addEventListener("click", function (event) {
      event.preventDefault();
      leave();
    });

    // Only a bare Shift counts: one pressed and released with no other key or click meanwhile
    // (Shift+A, Shift-click). Unlike GOV.UK's keyup-only check, this holds whichever key is
    // released first. Any other key after a counted Shift starts the count over.
    var bareShift = false;
    document.addEventListener(
      "keydown",
      function (event) {
        if (event.key === "Shift") {
          if (!event.repeat) bareShift = true;
          return;
        }
        bareShift = false;
        if (pressTimer) expire();
      },
      true,
    );
    document.addEventListener(
      "mousedown",
      function () {
        bareShift = false;
      },
      true,
    );
    document.addEventListener(
      "keyup",
      function (event) {
        if (event.key !== "Shift" || !bareShift) return;
        bareShift = false;
        presses += 1;
        window.clearTimeout(clearTimer);
        if (presses >= 3) {
          leave();
          return;
        }
        announce(presses === 1 ? root.dataset.pressTwo : root.dataset.pressOne);
        window.clearTimeout(pressTimer);
        pressTimer = window.setTimeout(expire, PRESS_WINDOW);
      },
      true,
    );

    // A page restored from the back/forward cache after leaving must not show itself again.
    window.addEventListener("pageshow", function (event) {
      if (event.persisted && document.documentElement.classList.contains(LEAVING_CLASS)) {
        leave();
      }
    });
  }

  // A page shown in answer to a post (an addition the database could not take) says its own address:
  // put it in place of the post's, so a reload or a bookmark opens the page, not the form again.
  var own = document.querySelector("[data-page-address]");
  if (own && window.history.replaceState) {
    window.history.replaceState(null, "", own.getAttribute("data-page-address"));
  }

  // Error summaries get focus so screen readers announce them at once.
  var summary = document.querySelector("[data-error-summary]");
  if (summary) summary.focus();
})();
