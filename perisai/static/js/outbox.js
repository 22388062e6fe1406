// Outbox: work recorded offline waits in IndexedDB with its idempotency key, and is sent on
// page load, on `online` and when the service worker (which loads this too) starts.
var Outbox = (function (G) {
  var D = G.document, dbp, chan = G.BroadcastChannel ? new BroadcastChannel("outbox") : null;

  function store(mode, job) {
    dbp = dbp || new Promise(function (ok, fail) {
      var open = indexedDB.open("perisai", 1);
      open.onupgradeneeded = function () { open.result.createObjectStore("kv"); };
      open.onsuccess = function () { ok(open.result); };
      open.onerror = fail;
    });
    return dbp.then(function (db) {
      return new Promise(function (ok, fail) {
        var tx = db.transaction("kv", mode), req = job(tx.objectStore("kv"));
        tx.oncomplete = function () { ok(req && req.result); };
        tx.onerror = fail;
      });
    });
  }
  function get(key) { return store("readonly", function (s) { return s.get(key); }); }
  function put(key, value) { return store("readwrite", function (s) { s.put(value, key); }); }
  function drop(key) { return store("readwrite", function (s) { s.delete(key); }); }
  function entries(user) {
    return store("readonly", function (s) { return s.getAll(); }).then(function (all) {
      return all.filter(function (e) { return e.id && e.user === user; })
        .sort(function (a, b) { return b.at - a.at; });
    });
  }
  function save(e) {
    return put("e:" + e.id, e).then(function () { changed(); return e; });
  }
  // A channel does not echo: this page is told directly.
  function changed() {
    if (chan) { chan.postMessage(1); }
    if (api.changed) { api.changed(); }
  }
  function locked(job) {
    var locks = G.navigator && G.navigator.locks;
    return locks ? locks.request("perisai-outbox", job) : job();
  }
  function message(html) {
    var m = /class="flash error" role="alert"[^>]*>([\s\S]*?)<\/(p|section)>/.exec(html) ||
      /<h1>([\s\S]*?)<\/h1>/.exec(html);
    return m ? m[1].replace(/<[^>]+>/g, " ").replace(/\s+/g, " ").trim() : "";
  }
  // The answer decides: sent, conflict or refused (the agent acts), or queued again.
  function send(e, csrf) {
    var body = new FormData(), name;
    for (name in e.fields) { body.append(name, e.fields[name]); }
    e.state = "sending";
    return save(e).then(function () {
      return fetch(e.url, { method: "POST", body: body, credentials: "same-origin",
        headers: { "X-CSRFToken": csrf } });
    }).then(function (res) {
      return res.text().then(function (html) {
        var path = new URL(res.url).pathname, done = /^\/(receipts|workers)\/\d+$/.test(path);
        e.tries = (e.tries || 0) + 1;
        if (res.ok && done) {
          e.state = "sent"; e.link = path; e.receipt = /\d+$/.exec(path)[0]; e.note = "";
        } else if (res.status === 409 || res.status === 404 || res.status === 422) {
          var paid = /data-receipt="(\d+)"/.exec(html);
          e.state = e.kind === "register" || paid ? "conflict" : "refused";
          e.note = message(html);
          e.link = paid ? "/receipts/" + paid[1] : (/href="(\/workers\/\d+)"/.exec(html) || [])[1] || "";
        } else {
          e.state = "queued"; e.note = "";
          return save(e).then(function () { throw new Error("later"); });
        }
        return save(e);
      });
    }, function () {
      e.state = "queued";
      return save(e).then(function () { throw new Error("offline"); });
    });
  }
  // One at a time, under a lock the pages and the service worker share.
  function replay() {
    return locked(function () {
      return fetch("/collect/codes", { credentials: "same-origin", cache: "no-store" })
        .then(function (res) { return res.ok && !res.redirected ? res.json() : null; })
        .then(function (fresh) {
          if (!fresh) { return; }
          put("codes:" + fresh.user, fresh);
          return entries(fresh.user).then(function (list) {
            var chain = Promise.resolve();
            list.forEach(function (e) {
              if (e.state === "queued" || e.state === "sending") {
                chain = chain.then(function () { return send(e, fresh.csrf); });
              }
            });
            return chain.then(function () { return put("sync:" + fresh.user, Date.now()); });
          });
        }).catch(function () {}).then(changed);
    });
  }
  var api = { get: get, put: put, drop: drop, entries: entries, save: save, replay: replay };
  if (!D) { return api; }

  var body = D.body, user = body.getAttribute("data-user");
  if (!user) { return api; }
  function $(sel, root) { return (root || D).querySelector(sel); }
  function each(root, sel, job) { Array.prototype.forEach.call(root.querySelectorAll(sel), job); }
  function rupiah(n) { return "Rp" + String(n).replace(/\B(?=(\d{3})+(?!\d))/g, "."); }
  function two(n) { return (n < 10 ? "0" : "") + n; }
  function parts(ms) {
    var d = new Date(ms);
    return [d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds()].map(two);
  }
  function when(ms) { var p = parts(ms); return p[2] + "-" + p[1] + "-" + p[0] + " " + p[3] + "." + p[4]; }
  // ISO 8601 with the phone's offset, as taken_at.
  function iso(ms) {
    var p = parts(ms), off = -new Date(ms).getTimezoneOffset(), a = Math.abs(off);
    return p.slice(0, 3).join("-") + "T" + p.slice(3).join(":") + (off < 0 ? "-" : "+") +
      two(Math.floor(a / 60)) + ":" + two(a % 60);
  }
  function newKey() {
    var bytes = crypto.getRandomValues(new Uint8Array(24));
    return btoa(String.fromCharCode.apply(null, bytes)).replace(/\+/g, "-").replace(/\//g, "_");
  }
  // Damm check digit, as domain/codes.py.
  var DAMM = "0317598642709215486342068713591750983426612304597836742095815869720134" +
    "894536201794386172052581436790";
  function damm(code) {
    var i = 0, c = 0;
    for (; i < code.length; i++) { c = +DAMM[c * 10 + +code[i]]; }
    return c === 0;
  }
  function fill(id, values) {
    var node = $("#" + id).content.firstElementChild.cloneNode(true);
    each(node, "[data-slot]", function (el) {
      var v = values[el.getAttribute("data-slot")];
      if (v !== undefined) { el.textContent = v; }
    });
    return node;
  }
  function say(near, text) {
    var p = $(".net-msg", near.form || near) || D.createElement("p");
    p.className = "flash error net-msg"; p.setAttribute("role", "alert"); p.tabIndex = -1;
    p.textContent = text;
    near.insertAdjacentElement("afterend", p);
    p.scrollIntoView({ block: "center" }); p.focus();
  }
  function swap(node) {
    var main = $("#main");
    each(main, ":scope>:not(template,#offline-msg)", function (el) { el.remove(); });
    main.insertBefore(node, main.firstChild);
    G.scrollTo(0, 0);
    node.focus();
  }
  function codesNow() { return get("codes:" + user).then(function (c) { return c || { codes: [] }; }); }

  function paint() {
    return Promise.all([entries(user), get("sync:" + user)]).then(function (r) {
      var list = r[0], waiting = list.filter(function (e) {
        return e.state === "queued" || e.state === "sending";
      }).length, pin = $("#sync"), action = list.filter(function (e) {
        return e.state === "conflict" || e.state === "refused";
      }).length;
      if (pin) {
        pin.hidden = false;
        pin.className = waiting || action ? "wait" : "";
        $("[data-slot=count]", pin).textContent = waiting;
        $("[data-slot=action]", pin).textContent = action;
        $("[data-slot=action]", pin).parentNode.hidden = !action;
        $("[data-slot=time]", pin).textContent = r[1] ? when(r[1]) : "–";
      }
      var box = $("#outbox-list");
      if (box) {
        box.textContent = "";
        list.forEach(function (e) { box.appendChild(item(e)); });
        $("#outbox-empty").hidden = list.length > 0;
      }
      each(D, "[data-entry]", function (slip) {
        var e = list.filter(function (x) { return x.id === slip.getAttribute("data-entry"); })[0];
        if (e) { show(slip, e); }
      });
    });
  }
  function show(node, e) {
    each(node, "[data-state]", function (el) {
      el.hidden = el.getAttribute("data-state").split(" ").indexOf(e.state) < 0;
    });
    each(node, "[data-kind]", function (el) {
      el.hidden = el.getAttribute("data-kind") !== e.kind;
    });
    var link = $("[data-slot=link]", node), note = $("[data-slot=note]", node);
    if (link) { link.hidden = !e.link; link.href = e.link || "#"; }
    if (note) { note.textContent = e.note || ""; }
    var receipt = $("[data-slot=receipt]", node);
    if (receipt) { receipt.textContent = e.state === "sent" && e.kind === "collect" ? e.receipt : ""; }
  }
  function item(e) {
    var node = fill("tpl-item", { what: e.label, time: when(e.at), amount: e.amount ? rupiah(e.amount) : "" });
    node.setAttribute("data-id", e.id);
    show(node, e);
    return node;
  }
  function slip(e) {
    var node = fill("tpl-slip", { name: e.name, code: e.fields.code, period: e.period,
      amount: rupiah(e.amount), time: when(e.at) });
    node.setAttribute("data-entry", e.id);
    show(node, e);
    return node;
  }

  function findCode(typed) {
    var code = typed.replace(/[\s.\-]/g, "");
    return codesNow().then(function (c) {
      var hit = c.codes.filter(function (b) { return b.code === code; })[0];
      return { code: code, bill: hit, ok: /^\d{12}$/.test(code) && damm(code), at: c.at };
    });
  }
  function lookup(form) {
    var area = $("#collect"), input = form.querySelector("[name=code]");
    return findCode(input.value).then(function (r) {
      var old = $("#offline-bill"); if (old) { old.remove(); }
      var msg = $("#offline-msg");
      var problem = !r.ok ? msg.getAttribute("data-typo") : !r.bill ? msg.getAttribute("data-unknown") : "";
      if (problem) { return say(form.querySelector("button"), problem); }
      var b = r.bill, node = fill("tpl-bill", { name: b.name, code: b.code, period: b.period,
        amount: rupiah(b.amount), expires: when(Date.parse(b.expires)), synced: r.at ? when(Date.parse(r.at)) : "–" });
      node.id = "offline-bill";
      node.querySelector("[name=code]").value = b.code;
      node.querySelector("[name=idempotency_key]").value = newKey();
      each(area, "#bill,form[method=post],.flash,section.card", function (el) { el.remove(); });
      area.appendChild(node);
      node.querySelector("[name=amount]").focus();
    });
  }
  function collect(form) {
    var code = form.querySelector("[name=code]").value, typed = form.querySelector("[name=amount]").value;
    var button = form.querySelector("button"), amount = +typed.replace(/^\s*rp\.?/i, "").replace(/[.\s]/g, "");
    return findCode(code).then(function (r) {
      var b = r.bill || {};
      if (!amount || (b.amount && amount !== b.amount)) {
        return say(button, $("#offline-msg").getAttribute("data-amount") + " " + rupiah(b.amount || 0));
      }
      var now = Date.now(), e = { id: form.querySelector("[name=idempotency_key]").value,
        kind: "collect", user: user, url: "/collect", at: now, state: "queued", amount: amount,
        name: b.name || "", period: b.period || "", label: (b.name || "") + " · " + code,
        fields: { code: code, amount: String(amount), taken_at: iso(now),
          idempotency_key: form.querySelector("[name=idempotency_key]").value } };
      return get("e:" + e.id).then(function (known) {
        return known || save(e);
      }).then(function (saved) {
        swap(slip(saved));
        paint();
        if (navigator.onLine) { replay(); }
      });
    });
  }

  function register(form, sent) {
    var fields = {}, data = new FormData(form);
    data.forEach(function (v, k) { if (k !== "csrf_token") { fields[k] = v; } });
    // Never sent: a fresh key (a kept page's key may be used already).
    if (!sent) { fields.idempotency_key = newKey(); }
    var e = { id: fields.idempotency_key, kind: "register", user: user, url: "/workers/new",
      at: Date.now(), state: "queued", label: fields.full_name + " · NIK …" + (fields.nik || "").slice(-4),
      fields: fields };
    return save(e).then(function () {
      sessionStorage.removeItem("draft:/workers/new");
      swap(fill("tpl-queued", { what: e.label }));
      paint();
      if (navigator.onLine) { replay(); }
    });
  }

  function offlineKind(form) {
    if (!form || form.getAttribute("action") === null) { return ""; }
    var action = new URL(form.action, location.href).pathname, post = form.method === "post";
    if (action === "/collect") { return post ? "collect" : "lookup"; }
    return action === "/workers/new" && post ? "register" : "";
  }
  function handle(kind, form, sent) {
    return kind === "lookup" ? lookup(form) : kind === "collect" ? collect(form) : register(form, sent);
  }
  function intercept(event) {
    var button = event.type === "click" && event.target.closest("button:not([type=button])"),
      form = event.type === "submit" ? event.target : button && button.form, kind = offlineKind(form);
    if (kind && (!navigator.onLine || form.hasAttribute("data-local"))) {
      event.preventDefault(); event.stopPropagation();
      handle(kind, form);
    }
  }
  // Clicks too: htmx sends the registration from its button.
  D.addEventListener("submit", intercept, true);
  D.addEventListener("click", intercept, true);
  D.addEventListener("htmx:sendError", function (event) {
    var elt = event.detail.elt, form = elt.form || elt.closest("form"), kind = offlineKind(form),
      trigger = event.detail.requestConfig && event.detail.requestConfig.triggeringEvent;
    // Signal lost mid-request: to the outbox. Online, app.js offers a retry instead.
    if (kind && trigger && (trigger.type === "submit" || trigger.type === "click") && !navigator.onLine) {
      event.stopImmediatePropagation();
      handle(kind, form, true);
    }
  }, true);

  D.addEventListener("click", function (event) {
    var button = event.target.closest("[data-do]");
    if (!button) { return; }
    var row = button.closest("[data-id]"), id = row && row.getAttribute("data-id"), what = button.getAttribute("data-do");
    if (what === "replay") { button.disabled = true; replay().then(function () { button.disabled = false; }); return; }
    get("e:" + id).then(function (e) {
      if (!e) { return; }
      if (what === "resend") { e.state = "queued"; return save(e).then(replay); }
      if (what === "remove") { return drop("e:" + id).then(paint); }
      if (what === "slip") { return swap(slip(e)); }
      if (what === "fix") {
        var fields = {}, name;
        for (name in e.fields) { if (name !== "idempotency_key") { fields[name] = e.fields[name]; } }
        sessionStorage.setItem("draft:/workers/new", JSON.stringify(fields));
        return drop("e:" + id).then(function () { location.href = "/workers/new"; });
      }
    });
  });
  D.addEventListener("submit", function (event) {
    if (event.target.getAttribute("action") === "/logout" && navigator.serviceWorker && navigator.serviceWorker.controller) {
      navigator.serviceWorker.controller.postMessage("logout");
    }
  }, true);

  if (chan) { chan.onmessage = paint; }
  api.changed = paint;
  G.addEventListener("online", replay);
  if (navigator.serviceWorker) { navigator.serviceWorker.register("/sw.js").catch(function () {}); }
  paint();
  if (navigator.onLine) { replay(); }
  return api;
})(self);
