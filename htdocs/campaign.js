/* Campaign page: live counters under the message and the fallback text,
 * and the fields that only some message types use. The page works without
 * it; the server checks everything again on save. */
(function () {
  "use strict";

  function characters(text) {
    // Code points, as the server counts them (a surrogate pair is one).
    return Array.from(text).length;
  }

  function bodyCounter() {
    var body = document.getElementById("body");
    var out = document.getElementById("body-chars");
    var box = document.getElementById("body-count");
    if (!body || !out || !box) { return; }
    var max = parseInt(body.getAttribute("data-max"), 10) || 1000;
    function update() {
      var n = characters(body.value);
      out.textContent = String(n);
      box.classList.toggle("over", n > max);
    }
    body.addEventListener("input", update);
    update();
  }

  // Show only the fields the chosen message type uses.
  function typeFields() {
    var type = document.getElementById("type");
    if (!type) { return; }
    var groups = document.querySelectorAll("[data-types]");
    function update() {
      for (var i = 0; i < groups.length; i++) {
        var types = groups[i].getAttribute("data-types").split(" ");
        var errors = groups[i].querySelector(".field-error");
        groups[i].classList.toggle("hidden", types.indexOf(type.value) < 0 && !errors);
      }
    }
    type.addEventListener("change", update);
    update();
  }

  function start() {
    bodyCounter();
    typeFields();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
