// The big screen of a live round: polls GET /api/v1/live/<pin>/screen and draws the lobby, the question with
// its countdown, the reveal (key, answers per option, explanation, top 5) and the podium. Text goes in with
// textContent only (names come from players). After each redraw the stage's type shrinks until nothing is cut off.
(function () {
  "use strict";
  var body = Live.byId("screen");
  if (!body) return;
  var api = body.getAttribute("data-api");
  var poll = parseInt(body.getAttribute("data-poll"), 10) || 500;
  var SECTIONS = ["lobby", "question", "reveal", "finished"];
  var state = null;
  var deadline = 0;
  var drawnKey = "";
  var busy = false;

  function say(name, fields) { return Live.say(body, name, fields); }

  function show(id) {
    SECTIONS.forEach(function (name) { Live.hide(name, name !== id); });
    body.className = "live-screen phase-" + id;
  }

  function list(id, items) {
    var node = Live.byId(id);
    Live.clear(node);
    items.forEach(function (item) { node.appendChild(item); });
    return node;
  }

  function entry(e, extra) {
    var li = Live.el("li");
    li.appendChild(Live.el("span", "rank", e.rank));
    li.appendChild(Live.el("span", "name", e.nickname));
    li.appendChild(Live.el("span", "org", e.org_name));
    li.appendChild(Live.el("span", "score", extra || say("points", { score: e.score })));
    return li;
  }

  function optionRows(q, data, withBars) {
    var right = data.correct_choices || [];
    var max = 0;
    q.options.forEach(function (o) { max = Math.max(max, (data.distribution || {})[o.key] || 0); });
    return q.options.map(function (o) {
      var li = Live.el("li", right.indexOf(o.key) >= 0 ? "right" : "");
      li.appendChild(Live.el("span", "key", o.key));
      li.appendChild(Live.el("span", "text", o.text));
      if (withBars) {
        var n = (data.distribution || {})[o.key] || 0;
        li.appendChild(Live.bar(max ? n / max : 0, right.indexOf(o.key) >= 0));
        li.appendChild(Live.el("span", "count", n));
      }
      return li;
    });
  }

  function buzzRows(buzzes) {
    var turnGiven = buzzes.some(function (b) { return b.outcome === "right"; });
    return buzzes.map(function (b) {
      var label = b.outcome === "right" ? say("outcome-right") : b.outcome === "wrong" ? say("outcome-wrong") :
        turnGiven ? say("outcome-wait") : say("outcome-turn");
      if (!b.outcome && !turnGiven) turnGiven = true;
      var li = Live.el("li", b.outcome || "");
      li.appendChild(Live.el("span", "rank", b.seq));
      li.appendChild(Live.el("span", "name", b.nickname));
      li.appendChild(Live.el("span", "org", b.org_name));
      li.appendChild(Live.el("span", "score", label));
      return li;
    });
  }

  function render(data) {
    state = data;
    Live.text("players", data.players);
    var phase = data.phase;
    if (phase === "lobby") {
      var units = data.joined.slice(0, 12).map(function (u) {
        var li = Live.el("li");
        li.appendChild(Live.el("span", "name", u.name));
        li.appendChild(Live.el("span", "score", say("count", { n: u.players })));
        return li;
      });
      if (data.joined.length > 12) units.push(Live.el("li", "more", say("more-units", { n: data.joined.length - 12 })));
      list("joined-units", units);
      show("lobby");
    } else if (phase === "question") {
      var q = data.question;
      deadline = Date.now() + data.seconds_left * 1000;
      Live.text("q-progress", say("progress", { n: data.index + 1, total: data.total }));
      Live.text("q-type", say("type-" + q.type));
      Live.hide("q-paused", !data.paused);
      var key = "q" + data.index + (data.buzzes ? JSON.stringify(data.buzzes) : "");
      if (key !== drawnKey) {
        drawnKey = key;
        Live.text("q-stem", q.stem);
        list("q-options", optionRows(q, data, false));
        var buzzing = data.mode === "buzz";
        Live.hide("q-buzzes", !buzzing);
        if (buzzing) list("q-buzzes", buzzRows(data.buzzes || []));
      }
      Live.text("q-answered", data.mode === "buzz" ? say("buzzed", { n: data.answered || 0 }) :
        say("answered", { answered: data.answered || 0, players: data.players }));
      show("question");
    } else if (phase === "reveal") {
      var rq = data.question;
      Live.text("rv-stem", (data.index + 1) + ". " + rq.stem);
      Live.hide("rv-skipped", !data.skipped);
      list("rv-options", optionRows(rq, data, data.mode !== "buzz"));
      Live.text("rv-explanation", data.explanation || "");
      var src = data.source || {};
      Live.text("rv-source", [src.title, src.publisher, src.date].filter(Boolean).join(" · "));
      list("rv-top", (data.top || []).slice(0, 5).map(function (e) { return entry(e); }));
      Live.hide("rv-buzzes", data.mode !== "buzz");
      if (data.mode === "buzz") list("rv-buzzes", buzzRows(data.buzzes || []));
      drawnKey = "";
      show("reveal");
    } else {
      renderPodium(data.top || []);
      list("unit-rank", (data.units || []).slice(0, 10).map(function (u) {
        return entry({ rank: u.rank, nickname: u.name, org_name: "", score: 0 },
                     say("average", { average: u.average, players: u.players }));
      }));
      list("final-top", (data.top || []).slice(0, 10).map(function (e) { return entry(e); }));
      show("finished");
    }
    clock();
    fit();
  }

  function renderPodium(top) {
    var order = [1, 0, 2];  // second, first, third: the winner in the middle
    list("podium", order.filter(function (i) { return top[i]; }).map(function (i) {
      var e = top[i];
      var block = Live.el("div", "step step-" + (i + 1));
      block.appendChild(Live.el("span", "place", e.rank));
      block.appendChild(Live.el("span", "name", e.nickname));
      block.appendChild(Live.el("span", "org", e.org_name));
      block.appendChild(Live.el("span", "score", say("points", { score: e.score })));
      return block;
    }));
  }

  function clock() {
    if (!state || state.phase !== "question") return;
    var left = state.paused ? Math.ceil(state.seconds_left) : Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    var node = Live.text("q-clock", left);
    if (node) node.className = "ls-clock" + (left <= 5 ? " low" : "");
  }
  setInterval(clock, 250);

  // Shrink the stage's type until its content fits the screen (long stems, many units): no text is ever cut off.
  function fit() {
    var stage = Live.byId("stage");
    var size = 100;
    stage.style.fontSize = "100%";
    while (size > 40 && (stage.scrollHeight > stage.clientHeight + 1 || stage.scrollWidth > stage.clientWidth + 1)) {
      size -= 4;
      stage.style.fontSize = size + "%";
    }
  }
  window.addEventListener("resize", fit);

  var timer = null;
  function refresh() {
    clearTimeout(timer);
    if (busy) return;
    busy = true;
    Live.request("GET", api + "/screen", {}, function (code, data) {
      busy = false;
      if (code === 200 && data) {
        Live.text("ls-status", "");
        if (!state || JSON.stringify(state) !== JSON.stringify(data)) render(data);
        poll = data.poll_ms || poll;
      } else {
        Live.text("ls-status", say("offline"));
      }
      timer = setTimeout(refresh, poll);
    });
  }
  refresh();
  Live.onWake(refresh);
})();
