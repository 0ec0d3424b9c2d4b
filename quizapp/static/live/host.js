// The host's controls of a live round: polls GET .../host/state and sends the moves (start, next, reveal, pause,
// resume, skip, end). The bearer token comes from the URL fragment, so it stays out of logs and Referer headers.
(function () {
  "use strict";
  var root = Live.byId("host");
  if (!root) return;
  var api = root.getAttribute("data-api");
  var token = decodeURIComponent((location.hash || "").replace(/^#/, ""));
  var state = null;
  var deadline = 0;
  var busy = false;
  var timer = null;
  var autoRevealed = "";

  function say(name, fields) { return Live.say(root, name, fields); }

  function status(message) {
    var node = Live.text("status", message || "");
    if (node) node.hidden = !message;
  }

  function render(data) {
    state = data;
    deadline = Date.now() + data.seconds_left * 1000;
    Live.text("phase", say("phase-" + data.phase) + (data.paused ? " · " + say("paused") : ""));
    Live.text("progress", data.index === null ? "" : say("progress", { n: data.index + 1, total: data.total }));
    Live.text("counts", say("players", { n: data.players }) + (data.phase === "question" ?
      " · " + say("answered", { answered: data.answered || 0, players: data.players }) : ""));
    Live.text("stem", data.question ? data.question.stem : "");
    var buttons = Live.byId("controls").getElementsByTagName("button");
    for (var i = 0; i < buttons.length; i++) {
      var allowed = (data.actions || []).indexOf(buttons[i].getAttribute("data-action")) >= 0;
      buttons[i].disabled = !allowed;
      buttons[i].hidden = !allowed;
    }
    var top = Live.byId("top");
    Live.clear(top);
    (data.top || []).slice(0, 5).forEach(function (e) {
      top.appendChild(Live.el("li", null, e.rank + ". " + e.nickname + " · " + e.org_name + " · " + e.score));
    });
    clock();
  }

  function clock() {
    if (!state || state.phase !== "question") { Live.text("clock", ""); return; }
    var left = state.paused ? Math.ceil(state.seconds_left) : Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    Live.text("clock", left);
    // When time is up (and answers had their grace to arrive), reveal once if the host asked for it.
    var key = state.index + ":" + state.total;
    if (left <= 0 && !state.paused && Date.now() > deadline + 1000 && Live.byId("auto-reveal").checked &&
        autoRevealed !== key && state.mode === "quiz") {
      autoRevealed = key;
      act("reveal");
    }
  }
  setInterval(clock, 250);

  function refresh() {
    clearTimeout(timer);
    if (busy) return;
    busy = true;
    Live.request("GET", api + "/host/state", { token: token }, function (code, data) {
      busy = false;
      if (code === 200 && data) { status(""); render(data); }
      else if (code === 401 || code === 403) { status(say("no-token")); return; }
      else { status(say("offline")); }
      timer = setTimeout(refresh, 1000);
    });
  }

  function act(action) {
    Live.request("POST", api + "/host/" + action, { token: token, body: {} }, function (code, data) {
      if (code === 200 && data) { status(""); render(data); }
      else if (code !== 409) { status(data && data.error ? data.error.message : say("error")); }
      refresh();
    });
  }

  Live.byId("controls").addEventListener("click", function (event) {
    var action = event.target && event.target.getAttribute("data-action");
    if (action) act(action);
  });
  if (!token) { status(say("no-token")); return; }
  Live.onWake(refresh);
  refresh();
})();
