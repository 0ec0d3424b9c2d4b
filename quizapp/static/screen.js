// Big screen: refresh the unit board and the top players from data.json every few seconds,
// without reloading the page. Text goes in with textContent only (names come from users).
(function () {
  "use strict";
  var body = document.getElementById("screen");
  if (!body || !window.fetch) return;
  var feed = body.getAttribute("data-feed");
  var interval = (parseInt(body.getAttribute("data-interval"), 10) || 5) * 1000;
  var SVG = "http://www.w3.org/2000/svg";
  var busy = false;

  // The page's words, in its language, with {name} fields (data-t-* attributes on <body>).
  function say(name, fields) {
    var text = body.getAttribute("data-t-" + name) || "";
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

  function replace(parent, children) {  // replaceChildren, for older screen browsers too
    while (parent.firstChild) parent.removeChild(parent.firstChild);
    children.forEach(function (child) { parent.appendChild(child); });
  }

  function meter(coverage) {
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "meter");
    svg.setAttribute("viewBox", "0 0 1000 20");
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("aria-hidden", "true");
    var track = document.createElementNS(SVG, "rect");
    track.setAttribute("class", "track");
    track.setAttribute("width", "1000");
    track.setAttribute("height", "20");
    var fill = document.createElementNS(SVG, "rect");
    fill.setAttribute("class", "fill");
    fill.setAttribute("width", String(Math.round(Math.max(0, Math.min(1, coverage)) * 1000)));
    fill.setAttribute("height", "20");
    svg.appendChild(track);
    svg.appendChild(fill);
    return svg;
  }

  function renderUnits(data) {
    var list = document.getElementById("org-board");
    if (!list) return;
    var items = [];
    data.orgs.forEach(function (o) {
      var li = el("li", "unit");
      li.appendChild(el("span", "rank", o.rank));
      li.appendChild(el("span", o.name.length > 30 ? "name xlong" : o.name.length > 14 ? "name long" : "name", o.name));
      li.appendChild(meter(o.coverage));
      li.appendChild(el("span", "pct", o.coverage_text));
      li.appendChild(el("span", "count", say("count", { participants: o.participants, headcount: o.headcount })));
      items.push(li);
    });
    if (!items.length) items.push(el("li", "empty", say("no-units")));
    replace(list, items);
    var note = document.getElementById("units-note");
    if (note) {
      note.hidden = data.orgs_total <= data.orgs.length;
      note.textContent = say("units-note", { total: data.orgs_total, shown: data.orgs.length });
    }
  }

  function renderPeople(data) {
    var tbody = document.getElementById("people-board");
    if (!tbody) return;
    var rows = [];
    data.people.forEach(function (p) {
      var tr = el("tr");
      tr.appendChild(el("td", "rank", p.rank));
      var nick = el("td", "nick", p.nickname);
      nick.appendChild(el("span", "org", p.org_name));
      tr.appendChild(nick);
      tr.appendChild(el("td", "score", p.score));
      tr.appendChild(el("td", "time", say("seconds", { seconds: p.duration_s })));
      rows.push(tr);
    });
    if (!rows.length) {
      var tr = el("tr", "empty");
      var td = el("td", null, say("no-people"));
      td.setAttribute("colspan", "4");
      tr.appendChild(td);
      rows.push(tr);
    }
    replace(tbody, rows);
  }

  function render(data) {
    renderUnits(data);
    renderPeople(data);
    var total = document.getElementById("participant-total");
    if (total) total.textContent = String(data.participants);
    var frozen = document.getElementById("frozen-note");
    if (frozen) frozen.hidden = !data.frozen;
    var updated = document.getElementById("updated");
    if (updated) updated.textContent = say("updated", { time: data.updated_at });
    body.classList.remove("stale");
  }

  function refresh() {
    if (busy) return;
    busy = true;
    fetch(feed, { headers: { Accept: "application/json" }, cache: "no-store", credentials: "same-origin" })
      .then(function (resp) {
        if (!resp.ok) throw new Error("HTTP " + resp.status);
        return resp.json();
      })
      .then(render)
      .catch(function () { body.classList.add("stale"); })  // keep showing the last boards
      .then(function () { busy = false; });
  }

  setInterval(refresh, interval);
})();
