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
  // <input type=file data-fills="NAME">: read the chosen file into the
  // form's textarea NAME, so uploads go through the same CSRF-checked form.
  document.addEventListener("change", function (ev) {
    var input = ev.target;
    var name = input.getAttribute && input.getAttribute("data-fills");
    if (!name || !input.files || !input.files[0] || !input.form) { return; }
    var target = input.form.elements[name];
    var reader = new FileReader();
    reader.onload = function () { if (target) { target.value = reader.result; } };
    reader.readAsText(input.files[0]);
  });
})();
