// Small helpers around htmx. Everything works without this file; it only tells the agent
// when the network or the server failed, instead of leaving the screen unchanged.
(function () {
  var box = function () { return document.getElementById("net"); };
  function say(text) { var el = box(); if (el) { el.textContent = text; el.hidden = !text; } }
  document.addEventListener("htmx:sendError", function () {
    say("Tidak ada sambungan internet. Data belum terkirim; coba lagi saat sinyal ada.");
  });
  document.addEventListener("htmx:timeout", function () {
    say("Sambungan lambat sekali. Coba kirim lagi: pembayaran tidak akan tercatat dua kali.");
  });
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    say(status === 429 ? "Terlalu sering. Tunggu sebentar, lalu coba lagi."
      : status >= 500 ? "Server sedang bermasalah. Data Anda aman; coba lagi sebentar lagi."
      : "Permintaan ditolak (" + status + "). Muat ulang halaman.");
  });
  document.addEventListener("htmx:beforeRequest", function () { say(""); });
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
    var parts = set.querySelectorAll("input[inputmode]"), joined = document.getElementById(set.getAttribute("data-date"));
    var day = parts[0].value.trim(), month = parts[1].value.trim(), year = parts[2].value.trim();
    if (joined) { joined.value = day && month && /^\d{4}$/.test(year) ? year + "-" + two(month) + "-" + two(day) : ""; }
  });
  function ready(root) { reveal(root); fitPrintPage(); }
  document.addEventListener("DOMContentLoaded", function () { ready(document); });
  document.addEventListener("htmx:afterSettle", function (event) { ready(event.target); });
  // A plain form post is sent once even if a phone registers a double tap.
  document.addEventListener("submit", function (event) {
    var button = event.target.querySelector("[data-once]");
    if (button) { setTimeout(function () { button.disabled = true; }, 0); }
  });
})();
