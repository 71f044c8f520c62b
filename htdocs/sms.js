/* SMS page: the live counter under the text (characters, GSM-7 / UCS-2,
 * parts) and the refusal over 10 parts. The page works without it; the
 * server checks everything again on send. */
(function () {
  "use strict";

  // The figures come from the server (GET api/sms-count), so the page and
  // the sender always agree on the encoding and the part sizes.
  function counter() {
    var text = document.getElementById("sms-text");
    var out = document.getElementById("sms-count");
    var refusal = document.getElementById("sms-too-long");
    var send = document.getElementById("sms-send");
    if (!text || !out || !window.fetch) { return; }
    var api = out.getAttribute("data-api");
    var max = parseInt(out.getAttribute("data-max-parts"), 10) || 10;
    var timer = null, asked = 0;

    function show(n) {
      var over = n.parts > max;
      out.textContent = n.characters + " characters · " + n.encoding + " · " +
        n.parts + " SMS part" + (n.parts === 1 ? "" : "s");
      out.classList.toggle("over", over);
      if (refusal) { refusal.classList.toggle("hidden", !over); }
      if (send) { send.disabled = over; }
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
      timer = setTimeout(ask, 200);
    });
    if (text.value) { ask(); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", counter);
  } else {
    counter();
  }
})();
