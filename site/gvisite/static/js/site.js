// Enhancements only: the site works fully without this file.
(function () {
  "use strict";
  // Quick exit: leave without a history entry to come back to, so "Back" does not return here.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-quick-exit]");
    if (!link) return;
    event.preventDefault();
    window.location.replace(link.href);
  });
  // Error summaries get focus so screen readers announce them at once.
  var summary = document.querySelector("[data-error-summary]");
  if (summary) summary.focus();
})();
