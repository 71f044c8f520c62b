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

  // Variables as the server expands them (b8_vars.c): {name}, {first_name},
  // {phone}, with a fallback for an empty value: {name|there}.
  var VARS = /\{(name|first_name|phone)(?:\|([^{}\n]{0,100}))?\}/g;
  function expand(text, name, phone) {
    return text.replace(VARS, function (m, v, fallback) {
      var value = v === "phone" ? phone : (name || "").trim();
      if (v === "first_name") { value = value.split(/\s+/)[0] || ""; }
      return !value && fallback !== undefined ? fallback : value;
    });
  }
  function unguardedName(text) {
    var m;
    VARS.lastIndex = 0;
    while ((m = VARS.exec(text)) !== null) {
      if (m[1] !== "phone" && m[2] === undefined) { VARS.lastIndex = 0; return true; }
    }
    VARS.lastIndex = 0;
    return false;
  }

  // The preview as the phone shows it, live as one types: media, text,
  // button, and the SMS fallback.
  function livePreview() {
    var box = document.getElementById("preview");
    var form = document.querySelector("form.campaign-form");
    if (!box || !form) { return; }
    var name = box.getAttribute("data-name") || "", phone = box.getAttribute("data-phone") || "";
    var kinds = { image: "Image", video: "Video", file: "File", audio: "Audio" };
    function field(n) { var el = form.elements[n]; return el ? el.value : ""; }
    function update() {
      var type = field("type") || "text", url = field("url").trim();
      var caption = field("button_caption").trim(), fallback = field("fallback_text");
      var media = document.getElementById("preview-media");
      var hasBody = type === "text" || type === "image" || type === "video";
      media.hidden = !kinds[type];
      document.getElementById("preview-media-kind").textContent = kinds[type] || "";
      document.getElementById("preview-media-name").textContent =
        url ? url.replace(/[?#].*$/, "").split("/").pop() || url : "(no media URL yet)";
      document.getElementById("preview-body").textContent = hasBody ? expand(field("body"), name, phone) : "";
      document.getElementById("preview-body").hidden = !hasBody;
      var button = document.getElementById("preview-button");
      button.hidden = !(caption && hasBody);
      button.textContent = caption;
      document.getElementById("preview-sms").hidden = !fallback.trim();
      document.getElementById("preview-fallback").textContent = expand(fallback, name, phone);
      document.getElementById("preview-empty").hidden =
        !(unguardedName(hasBody ? field("body") : "") || unguardedName(fallback));
    }
    form.addEventListener("input", update);
    form.addEventListener("change", update);
    update();
  }

  function start() {
    bodyCounter();
    typeFields();
    livePreview();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
