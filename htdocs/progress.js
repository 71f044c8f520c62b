/* Live progress on the campaign page: polls the progress JSON every few
 * seconds while the campaign is queued, sending or paused, and updates the
 * bar, the counts and the funnel without reloading. When sending ends the
 * page reloads once, so the buttons follow the new state. */
(function () {
  "use strict";
  var box = document.getElementById("progress");
  if (!box || !window.fetch || box.getAttribute("data-live") !== "1") { return; }
  var api = box.getAttribute("data-api");
  var state = box.getAttribute("data-state");

  function update(p) {
    var bar = document.getElementById("progress-bar");
    bar.max = p.counts.total || 1;
    bar.value = p.sent;
    document.getElementById("progress-text").textContent = p.sent + " / " + p.counts.total + " sent";
    var waiting = document.getElementById("progress-waiting");
    if (waiting) {
      // Outside the send window or over the day's cap: until when, in local time.
      waiting.hidden = !p.waiting_label;
      if (p.waiting_label) { document.getElementById("waiting-label").textContent = p.waiting_label; }
    }
    var summary = document.getElementById("summary-sent");
    if (summary) { summary.textContent = String(p.sent); }
    var cells = document.querySelectorAll("#state-counts dd[data-state]");
    for (var i = 0; i < cells.length; i++) {
      var n = p.counts[cells[i].getAttribute("data-state")];
      cells[i].textContent = n === undefined ? "0" : String(n);
    }
    var svg = document.getElementById("funnel");
    if (svg && p.funnel) {
      var bars = svg.querySelectorAll("rect.funnel-bar");
      var counts = svg.querySelectorAll("text.funnel-count");
      for (var k = 0; k < p.funnel.length && k < bars.length; k++) {
        bars[k].setAttribute("width", String(p.funnel[k].width));
        counts[k].textContent = String(p.funnel[k].count) + " · " + String(p.funnel[k].rate) + "%";
      }
    }
    if (p.state !== state) {
      window.location.reload();
    }
  }

  function poll() {
    fetch(api, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (p) { if (p) { update(p); } })
      .catch(function () { /* next poll */ })
      .then(function () { window.setTimeout(poll, 2000); });
  }
  window.setTimeout(poll, 2000);
})();
