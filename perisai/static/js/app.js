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
  // A plain form post is sent once even if a phone registers a double tap.
  document.addEventListener("submit", function (event) {
    var button = event.target.querySelector("[data-once]");
    if (button) { setTimeout(function () { button.disabled = true; }, 0); }
  });
})();
