// Live round helpers shared by the phone, big-screen and host pages: JSON over XMLHttpRequest (WeChat's older
// browsers lack fetch), the page's words from data-t-* attributes, DOM helpers and a storage that survives
// reloads where the browser allows it. Plain ES5 on purpose: cheap phones run old engines.
var Live = (function () {
  "use strict";

  // One JSON request; done(status, data, etag) gets status 0 for a network error or a timeout.
  function request(method, url, opts, done) {
    var xhr = new XMLHttpRequest();
    var finished = false;
    function finish(status) {
      if (finished) return;
      finished = true;
      var data = null;
      try { data = status && xhr.responseText ? JSON.parse(xhr.responseText) : null; } catch (e) { data = null; }
      // The device identity the server issued: sent back so this phone stays one device for the limits.
      if (data && data.device_token) store.set(DEVICE_KEY, data.device_token);
      done(status, data, status ? xhr.getResponseHeader("ETag") : null);
    }
    xhr.open(method, url, true);
    xhr.timeout = opts.timeout || 8000;
    xhr.setRequestHeader("Accept", "application/json");
    if (opts.token) xhr.setRequestHeader("Authorization", "Bearer " + opts.token);
    var device = store.get(DEVICE_KEY);
    if (device) xhr.setRequestHeader("X-Device-Token", device);
    if (opts.etag) xhr.setRequestHeader("If-None-Match", opts.etag);
    if (opts.body !== undefined) xhr.setRequestHeader("Content-Type", "application/json");
    xhr.onreadystatechange = function () { if (xhr.readyState === 4) finish(xhr.status); };
    xhr.ontimeout = function () { finish(0); };
    xhr.onerror = function () { finish(0); };
    try {
      xhr.send(opts.body !== undefined ? JSON.stringify(opts.body) : null);
    } catch (e) {
      finish(0);
    }
  }

  // The page's words, in its language, with {name} fields filled in.
  function say(root, name, fields) {
    var text = root.getAttribute("data-t-" + name) || "";
    return text.replace(/\{(\w+)\}/g, function (all, key) {
      return fields && key in fields ? String(fields[key]) : all;
    });
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function byId(id) { return document.getElementById(id); }

  function clear(node) { while (node && node.firstChild) node.removeChild(node.firstChild); }

  function text(id, value) {
    var node = byId(id);
    if (node) node.textContent = value === undefined || value === null ? "" : String(value);
    return node;
  }

  function hide(id, hidden) {
    var node = byId(id);
    if (node) node.hidden = !!hidden;
    return node;
  }

  var DEVICE_KEY = "quizapp.device";

  // localStorage where it works (private modes throw), else a cookie, else this page's memory.
  var memory = {};
  var store = {
    get: function (key) {
      try { var v = window.localStorage.getItem(key); if (v) return v; } catch (e) { /* fall through */ }
      var m = document.cookie.match(new RegExp("(?:^|; )" + key.replace(/\./g, "\\.") + "=([^;]*)"));
      return m ? decodeURIComponent(m[1]) : (memory[key] || null);
    },
    set: function (key, value) {
      memory[key] = value;
      try {
        window.localStorage.setItem(key, value);
        return;
      } catch (e) { /* private mode: a cookie for this page's path instead */ }
      document.cookie = key + "=" + encodeURIComponent(value) + "; path=" + location.pathname +
        "; max-age=86400; SameSite=Strict";
    },
    remove: function (key) {
      delete memory[key];
      try { window.localStorage.removeItem(key); } catch (e) { /* ignore */ }
      document.cookie = key + "=; path=" + location.pathname + "; max-age=0; SameSite=Strict";
    }
  };

  // Poll again at once when the phone wakes up, comes back online or the page is restored from the cache.
  function onWake(callback) {
    document.addEventListener("visibilitychange", function () { if (!document.hidden) callback(); });
    window.addEventListener("online", callback);
    window.addEventListener("pageshow", function (event) { if (event.persisted) callback(); });
    window.addEventListener("focus", callback);
  }

  // A poll interval spread by +-15% so a hall of phones does not ask in lockstep.
  function jitter(ms) { return Math.round(ms * (0.85 + Math.random() * 0.3)); }

  // One bar of a chart as SVG (no inline style: the CSP allows none): fraction 0..1 of the row's width.
  var SVG = "http://www.w3.org/2000/svg";
  function bar(fraction, right) {
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "bar-chart");
    svg.setAttribute("viewBox", "0 0 1000 100");
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("aria-hidden", "true");
    var rect = document.createElementNS(SVG, "rect");
    rect.setAttribute("class", right ? "bar right" : "bar");
    rect.setAttribute("x", "0");
    rect.setAttribute("y", "10");
    rect.setAttribute("height", "80");
    rect.setAttribute("width", String(Math.max(6, Math.round(Math.max(0, Math.min(1, fraction)) * 1000))));
    svg.appendChild(rect);
    return svg;
  }

  return { request: request, say: say, el: el, byId: byId, clear: clear, text: text, hide: hide, store: store,
           onWake: onWake, jitter: jitter, bar: bar };
})();
