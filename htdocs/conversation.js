/* Live conversation page: polls the conversation's JSON every few seconds
 * and redraws the thread when a message arrives or a state changes (a
 * delivery receipt, the AI's answer), without reloading the page. Texts are
 * set with textContent only: nothing from a message becomes markup. */
(function () {
  "use strict";
  var box = document.getElementById("conversation");
  var list = document.getElementById("thread");
  if (!box || !list || !window.fetch) { return; }
  var api = box.getAttribute("data-api");
  var shown = signature(null);

  function signature(c) {
    if (!c) {
      var parts = [];
      var items = list.querySelectorAll("li[data-key]");
      for (var i = 0; i < items.length; i++) {
        var st = items[i].querySelector("[data-state]");
        parts.push(items[i].getAttribute("data-key") + ":" + (st ? st.textContent : ""));
      }
      return parts.join("|");
    }
    return c.messages.map(function (m) {
      return m.direction + "-" + m.id + ":" + (m.status_text || "");
    }).join("|");
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }

  function localTime(iso) {
    var d = new Date(iso);
    return isNaN(d.getTime()) ? iso : d.toLocaleString();
  }

  function item(m) {
    var li = el("li", "msg msg-" + m.direction + " msg-" + m.kind);
    li.setAttribute("data-key", m.direction + "-" + m.id);
    var meta = el("div", "msg-meta");
    meta.appendChild(el("span", "badge", m.kind_label));
    if (m.author) { meta.appendChild(document.createTextNode(" " + m.author)); }
    meta.appendChild(document.createTextNode(" · "));
    var t = el("time", null, localTime(m.at));
    t.setAttribute("datetime", m.at);
    meta.appendChild(t);
    li.appendChild(meta);
    var text = el("div", "msg-text");
    if (m.not_text) {
      text.appendChild(el("span", "hint", "[" + m.type + "]"));
      text.appendChild(document.createTextNode(" "));
    }
    text.appendChild(document.createTextNode(m.text || ""));
    li.appendChild(text);
    if (m.status_text) {
      var status = el("div", "msg-status");
      var s = el("span", "state" + (m.failed ? " bad" : ""), m.status_text);
      s.setAttribute("data-state", (m.state || "") + (m.ai_state || ""));
      status.appendChild(s);
      li.appendChild(status);
    }
    return li;
  }

  function redraw(c) {
    var sig = signature(c);
    if (sig === shown) { return; }
    var atBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
    var fresh = document.createDocumentFragment();
    c.messages.forEach(function (m) { fresh.appendChild(item(m)); });
    while (list.firstChild) { list.removeChild(list.firstChild); }
    list.appendChild(fresh);
    shown = sig;
    if (atBottom) { window.scrollTo(0, document.body.scrollHeight); }
  }

  function poll() {
    fetch(api, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (c) { if (c && c.messages) { redraw(c); } })
      .catch(function () { /* next poll */ })
      .then(function () { window.setTimeout(poll, 2500); });
  }
  window.setTimeout(poll, 2500);
})();
