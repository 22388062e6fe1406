{# PERISAI service worker: the app shell offline, pages network-first with the cached copy as
   a fallback, and the outbox (static/js/outbox.js) sent again each time the worker starts.
   Jinja comments: they stay here and are not sent to the phone. #}
var CACHE = "perisai-{{ version }}", STATIC = {{ static|tojson }}, PAGES = {{ pages|tojson }};
importScripts({{ outbox|tojson }});

function keepPages(cache) {
  return Promise.all(PAGES.map(function (url) {
    return fetch(url, { credentials: "same-origin" }).then(function (res) {
      if (res.ok && !res.redirected) { return cache.put(url, res); }
    }).catch(function () {});
  }));
}

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return cache.addAll(STATIC).then(function () { return keepPages(cache); });
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) { return name !== CACHE; })
      .map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var req = event.request, url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== location.origin) { return; }
  if (req.mode === "navigate") {
    event.respondWith(fetch(req).then(function (res) {
      if (res.ok && !res.redirected && !url.search && PAGES.indexOf(url.pathname) >= 0) {
        var copy = res.clone();
        caches.open(CACHE).then(function (cache) { cache.put(url.pathname, copy); });
      }
      return res;
    }).catch(function () {
      return caches.open(CACHE).then(function (cache) {
        return cache.match(url.pathname).then(function (hit) { return hit || cache.match("/outbox"); });
      });
    }));
  } else if (STATIC.indexOf(url.pathname + url.search) >= 0) {
    event.respondWith(caches.match(req).then(function (hit) { return hit || fetch(req); }));
  }
});

{# A page asks: send the outbox now, or forget the pages kept for an agent who logged out. #}
self.addEventListener("message", function (event) {
  if (event.data === "logout") {
    event.waitUntil(caches.delete(CACHE));
  } else {
    event.waitUntil(Outbox.replay());
  }
});

{# No Background Sync (Firefox, Safari and Android WebView lack it): the worker sends the
   outbox whenever it starts, and the pages send it on load and when the signal returns. #}
Outbox.replay();
