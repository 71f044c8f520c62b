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

  // The SMS parts come from the server (GET api/sms-count), so the page and
  // the sender always agree on GSM-7 / UCS-2 and the part sizes.
  function smsCounter() {
    var text = document.getElementById("fallback_text");
    var out = document.getElementById("sms-count");
    if (!text || !out || !window.fetch) { return; }
    var api = out.getAttribute("data-api");
    var timer = null, asked = 0;
    function show(n) {
      out.textContent = n.characters + " characters · " + n.encoding + " · " +
        n.parts + " SMS part" + (n.parts === 1 ? "" : "s");
      out.classList.toggle("over", n.parts > 10);
    }
    function ask() {
      var mine = ++asked;
      fetch(api + "?text=" + encodeURIComponent(text.value), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (n) { if (n && mine === asked) { show(n); } })
        .catch(function () { /* keep the last figure */ });
    }
    text.addEventListener("input", function () {
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(ask, 250);
    });
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
    smsCounter();
    typeFields();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
