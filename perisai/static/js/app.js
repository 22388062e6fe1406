// Small helpers around htmx. Everything works without this file; it only makes sure that no
// tap ends with nothing visible: a failed request is told next to the button that was tapped,
// with a retry that sends the same form (same key) again. Words come from #net's data-*.
(function () {
  var net = document.getElementById("net");
  function words(name) { return net ? net.getAttribute("data-" + name) : ""; }
  function tapped(event) {
    var trigger = event.detail.requestConfig && event.detail.requestConfig.triggeringEvent;
    return trigger && (trigger.type === "submit" || trigger.type === "click") ? trigger.type : "";
  }
  // The message goes right after the button (or the form's submit button), scrolled into view
  // and focused, so the agent sees it even with the keyboard open on a small screen.
  function say(event, text, login) {
    var elt = event.detail.elt, form = elt.form || elt.closest("form") || elt;
    var button = elt.matches("button") ? elt : form.querySelector("button[type=submit],button:not([type])") || elt;
    var old = form.querySelector(".net-msg");
    if (old) { old.remove(); }
    var box = document.createElement("p"), again = document.createElement("button");
    box.className = "flash error net-msg"; box.setAttribute("role", "alert"); box.tabIndex = -1;
    box.textContent = text + " ";
    if (login) {
      var link = document.createElement("a");
      link.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
      link.textContent = words("login");
      box.appendChild(link);
    } else {
      again.type = "button"; again.className = "secondary"; again.textContent = words("retry");
      again.addEventListener("click", function () { box.remove(); htmx.trigger(elt, tapped(event)); });
      box.appendChild(again);
    }
    button.insertAdjacentElement("afterend", box);
    box.scrollIntoView({ block: "center" });
    box.focus();
  }
  document.addEventListener("htmx:sendError", function (event) {
    if (tapped(event)) { say(event, words("offline")); }
  });
  document.addEventListener("htmx:timeout", function (event) {
    if (tapped(event)) { say(event, words("timeout")); }
  });
  document.addEventListener("htmx:responseError", function (event) {
    if (!tapped(event)) { return; }
    var status = event.detail.xhr.status;
    // 400: the form's CSRF token no longer matches a session (it expired, or the cookies were
    // cleared). What was typed is kept on the phone (below); logging in again brings it back.
    say(event, status === 400 ? words("session") : status === 429 ? words("busy")
      : status >= 500 ? words("server") : words("refused") + " (" + status + ")", status === 400);
  });
  // A button is disabled while its request is in flight: phones double-tap.
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (!tapped(event)) { return; }
    var elt = event.detail.elt, form = elt.form || elt.closest("form") || elt;
    var old = form.querySelector(".net-msg");
    if (old) { old.remove(); }
    var buttons = form.matches("button") ? [form] : form.querySelectorAll("button");
    Array.prototype.forEach.call(buttons, function (b) { b.disabled = true; });
    document.addEventListener("htmx:afterRequest", function done(after) {
      if (after.detail.elt !== elt) { return; }
      document.removeEventListener("htmx:afterRequest", done);
      Array.prototype.forEach.call(buttons, function (b) { b.disabled = false; });
    });
  });

  // Drafts: the registration form is copied to sessionStorage as the agent types, and put
  // back when the form is opened again in this tab (after logging in again, say). It is
  // forgotten once the server has the registration.
  var draft = document.querySelector("form[action='/workers/new'][method=post]"),
    draftKey = "draft:/workers/new";
  if (draft && window.sessionStorage) {
    var kept = JSON.parse(sessionStorage.getItem(draftKey) || "null");
    // A tick box keeps whether it is ticked, a radio group the value ticked; a radio's or a
    // tick box's own value is never changed. Hidden fields are not kept (birth_date is joined
    // again from its three boxes).
    if (kept) {
      Array.prototype.forEach.call(draft.elements, function (el) {
        if (!(el.name in kept) || el.type === "hidden") { return; }
        var v = kept[el.name];
        if (el.type === "checkbox") { el.checked = !!v; } else if (el.type === "radio") { if (el.value === v) { el.checked = true; } } else if (!el.value) { el.value = v; }
      });
      Array.prototype.forEach.call(draft.querySelectorAll("[data-date]"), joinDate);
      var note = document.getElementById("draft-note");
      if (note) { note.hidden = false; }
    }
    var keep = function () {
      var values = {};
      Array.prototype.forEach.call(draft.elements, function (el) {
        if (!el.name || el.type === "hidden") { return; }
        if (el.type === "checkbox") { values[el.name] = el.checked; } else if (el.type !== "radio") { values[el.name] = el.value; } else if (el.checked) { values[el.name] = el.value; }
      });
      sessionStorage.setItem(draftKey, JSON.stringify(values));
    };
    draft.addEventListener("input", keep);
    draft.addEventListener("change", keep);
    document.addEventListener("htmx:afterRequest", function (event) {
      var path = event.detail.pathInfo && event.detail.pathInfo.requestPath;
      if (tapped(event) && path === "/workers/new" && event.detail.xhr.status < 300 &&
          !event.detail.xhr.getResponseHeader("HX-Redirect")) {
        sessionStorage.removeItem(draftKey);
      }
    });
  }

  // Share button on the slip: the Web Share API where the phone has it.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-share]");
    if (!button || !navigator.share) { return; }
    event.preventDefault();
    navigator.share({ title: "Bukti bayar iuran BPJS Ketenagakerjaan", url: button.getAttribute("data-share") })
      .catch(function () {});
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-print]");
    if (button) { event.preventDefault(); window.print(); }
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) { return; }
    var input = document.getElementById(button.getAttribute("data-copy"));
    if (input && navigator.clipboard) {
      event.preventDefault();
      navigator.clipboard.writeText(input.value).then(function () { button.textContent = "Tersalin"; });
    }
  });
  // Print and copy are drawn hidden (they need this file); show the ones this phone can do.
  function reveal(root) {
    root.querySelectorAll("[data-print][hidden]").forEach(function (b) { b.hidden = !window.print; });
    root.querySelectorAll("[data-copy][hidden]").forEach(function (b) { b.hidden = !navigator.clipboard; });
  }
  // The slip prints on a roll: make the page as long as the slip, so no paper feeds blank.
  // The slip is measured laid out as it prints (.print-measure in app.css mirrors @media print).
  var pageSheet = null;
  function fitPrintPage() {
    var slip = document.getElementById("slip");
    if (!slip || !document.adoptedStyleSheets) { return; }
    var copy = slip.cloneNode(true);
    copy.removeAttribute("id");
    copy.classList.add("print-measure");
    document.body.appendChild(copy);
    var mm = Math.ceil(copy.getBoundingClientRect().height * 25.4 / 96) + 4;  // + the 2 mm margins
    copy.remove();
    if (!pageSheet) {
      pageSheet = new CSSStyleSheet();
      document.adoptedStyleSheets = document.adoptedStyleSheets.concat([pageSheet]);
    }
    pageSheet.replaceSync("@page{size:58mm " + mm + "mm;margin:2mm}");
  }
  // Birth date in three boxes: after two digits of the day or the month, on to the next box;
  // the hidden birth_date carries the date as YYYY-MM-DD.
  function two(text) { return text.length === 1 ? "0" + text : text; }
  document.addEventListener("input", function (event) {
    var box = event.target, set = box.closest && box.closest("[data-date]");
    if (!set) { return; }
    if (box.hasAttribute("data-next") && box.value.length >= Number(box.getAttribute("maxlength"))) {
      var next = document.getElementById(box.getAttribute("data-next"));
      if (next) { next.focus(); }
    }
    joinDate(set);
  });
  function joinDate(set) {
    var parts = set.querySelectorAll("input[inputmode]"), joined = document.getElementById(set.getAttribute("data-date"));
    var day = parts[0].value.trim(), month = parts[1].value.trim(), year = parts[2].value.trim();
    if (joined) { joined.value = day && month && /^\d{4}$/.test(year) ? year + "-" + two(month) + "-" + two(day) : ""; }
  }
  function ready(root) { reveal(root); fitPrintPage(); }
  document.addEventListener("DOMContentLoaded", function () { ready(document); });
  document.addEventListener("htmx:afterSettle", function (event) { ready(event.target); });
  // A plain form post is sent once even if a phone registers a double tap.
  document.addEventListener("submit", function (event) {
    var button = event.target.querySelector("[data-once]");
    if (button) { setTimeout(function () { button.disabled = true; }, 0); }
  });
})();
