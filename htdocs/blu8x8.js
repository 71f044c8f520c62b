/* Small progressive enhancements; every page works without them. */
(function () {
  "use strict";
  // Ask before destructive form posts (buttons marked .danger).
  document.addEventListener("submit", function (ev) {
    var button = ev.submitter || ev.target.querySelector("button.danger");
    if (button && button.classList.contains("danger") &&
        !window.confirm(button.getAttribute("data-confirm") || "Are you sure?")) {
      ev.preventDefault();
    }
  });
})();
