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

  // <p data-sms-count-of="ID" data-api="…/api/sms-count" data-max-parts="N"
  // [data-refusal="ID"] [data-send="ID"]>: the live SMS figures of textarea
  // ID (characters, GSM-7 / UCS-2, parts). They come from the server, so the
  // page and the sender always agree on the encoding and the part sizes.
  // Over N parts the refusal shows and the send button is disabled; the
  // server checks everything again on send.
  function smsCounter(out) {
    var text = document.getElementById(out.getAttribute("data-sms-count-of"));
    var refusal = document.getElementById(out.getAttribute("data-refusal") || "");
    var send = document.getElementById(out.getAttribute("data-send") || "");
    var api = out.getAttribute("data-api");
    var max = parseInt(out.getAttribute("data-max-parts"), 10) || 10;
    var timer = null, asked = 0;
    if (!text || !api || !window.fetch) { return; }

    function show(n) {
      var over = n.parts > max;
      // Name what forces UCS-2 (one em dash can double the parts).
      var culprits = (n.ucs2_chars || []).map(function (c) {
        return c.char + " (" + c.name + ")";
      });
      out.textContent = n.characters + " characters · " + n.encoding + " · " +
        n.parts + " SMS part" + (n.parts === 1 ? "" : "s") +
        (culprits.length ? " · " + culprits.join(", ") + (culprits.length === 1 ? " forces" : " force") +
         " UCS-2" : "");
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
  }

  // <section id=ID data-refresh="S">: the section's list (its hint, table
  // and pager) is fetched again every S seconds while the page is in view,
  // so states move without a reload; its filter form is left alone.
  function refresher(box) {
    var every = (parseInt(box.getAttribute("data-refresh"), 10) || 5) * 1000;
    var parts = [".hint", ".table-wrap", ".pager"];
    if (!window.fetch || !window.DOMParser || !box.id) { return; }
    function tick() {
      if (document.visibilityState !== "visible") { window.setTimeout(tick, every); return; }
      fetch(window.location.href, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (!html) { return; }
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(box.id);
          for (var i = 0; fresh && i < parts.length; i++) {
            var now = box.querySelector(parts[i]), next = fresh.querySelector(parts[i]);
            if (now && next) { now.replaceWith(next); }
          }
        })
        .catch(function () { /* next time */ })
        .then(function () { window.setTimeout(tick, every); });
    }
    window.setTimeout(tick, every);
  }

  function start() {
    var outs = document.querySelectorAll("[data-sms-count-of]");
    for (var i = 0; i < outs.length; i++) { smsCounter(outs[i]); }
    var lists = document.querySelectorAll("[data-refresh]");
    for (var k = 0; k < lists.length; k++) { refresher(lists[k]); }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
