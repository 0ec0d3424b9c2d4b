// A phone in a live round: join, then poll the state (ETag: mostly 304s) and draw the phase it is in.
// The bearer token is kept on the device, so a reload, a locked screen or a lost signal comes back to
// the current state. The server's clock decides everything; the countdown here is only a display.
(function () {
  "use strict";
  var root = Live.byId("live");
  if (!root) return;
  var pin = root.getAttribute("data-pin");
  var api = root.getAttribute("data-api");
  var poll = parseInt(root.getAttribute("data-poll"), 10) || 1000;
  var KEY = "quizapp.live." + pin;
  var SECTIONS = ["join", "lobby", "question", "reveal", "finished"];
  var token = Live.store.get(KEY);
  var etag = null;
  var timer = null;
  var busy = false;
  var failures = 0;
  var state = null;
  var drawn = "";  // which question the options on screen belong to, so a poll keeps the player's selection
  var selected = [];
  var deadline = 0;

  function say(name, fields) { return Live.say(root, name, fields); }

  function show(id) {
    SECTIONS.forEach(function (name) { Live.hide(name, name !== id); });
    Live.hide("who", id === "join" || !token);
  }

  function status(message) {
    var node = Live.text("status", message || "");
    if (node) node.hidden = !message;
  }

  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(tick, ms);
  }

  function forget() {
    Live.store.remove(KEY);
    token = null;
    etag = null;
    state = null;
    drawn = "";
    show("join");
  }

  function tick() {
    if (!token) { show("join"); return; }
    if (busy) return;
    busy = true;
    Live.request("GET", api + "/state", { token: token, etag: etag }, function (code, data, tag) {
      busy = false;
      if (code === 200 && data) {
        etag = tag;
        failures = 0;
        status("");
        poll = data.poll_ms || poll;
        render(data);
        schedule(Live.jitter(poll));
      } else if (code === 304) {
        failures = 0;
        status("");
        schedule(Live.jitter(poll));
      } else if (code === 401 || code === 403 || code === 404) {
        forget();  // not (or no longer) a player of this game: join again
      } else {
        failures += 1;
        status(say("offline"));
        schedule(Math.min(5000, poll * failures));
      }
    });
  }

  function keysText(keys) { return (keys || []).join("、"); }

  function meLine(you) {
    return you ? you.nickname : "";
  }

  // ---------------------------------------------------------------- phases

  function render(data) {
    state = data;
    var you = data.you || {};
    Live.text("me-line", meLine(you));
    if (data.phase === "lobby") {
      show("lobby");
    } else if (data.phase === "question") {
      renderQuestion(data, you);
      show("question");
    } else if (data.phase === "reveal") {
      renderReveal(data, you);
      show("reveal");
    } else {
      renderFinished(data, you);
      show("finished");
    }
  }

  function renderQuestion(data, you) {
    var q = data.question;
    var id = data.index + ":" + q.id;
    deadline = Date.now() + data.seconds_left * 1000;
    Live.text("progress", say("progress", { n: data.index + 1, total: data.total }));
    Live.text("qtype", say("type-" + q.type));
    Live.text("stem", q.stem);
    if (drawn !== id) {
      drawn = id;
      selected = [];
      drawOptions(q);
      Live.hide("answer-error", true);
    }
    var note = data.paused ? say("paused") : "";
    Live.text("question-note", note);
    Live.hide("question-note", !note);
    if (data.mode === "buzz") {
      renderBuzz(data, you);
    } else {
      var done = you.answered;
      setOptionsEnabled(!done && !data.paused);
      Live.hide("submit-answer", done);
      Live.text("answered-note", done ? say("answered", { choices: keysText(you.choices) }) : "");
      Live.hide("answered-note", !done);
      if (done) markChosen(you.choices);
    }
    clock();
  }

  function renderBuzz(data, you) {
    var mine = (you.buzz && you.buzz.seq) || null;
    var buzzes = data.buzzes || [];
    var resolved = buzzes.some(function (b) { return b.outcome === "right"; });
    var turn = null;
    buzzes.forEach(function (b) { if (!turn && !b.outcome) turn = b; });
    var myTurn = !!(mine && turn && turn.seq === mine && !resolved);
    Live.hide("buzz-button", !!mine || resolved || data.paused);
    var note = "";
    if (resolved) note = say("resolved");
    else if (myTurn) note = say("your-turn");
    else if (mine && you.buzz.outcome === "wrong") note = say("buzz-wrong");
    else if (mine) note = say("buzzed", { seq: mine }) + " · " + say("turn-wait");
    Live.text("buzz-note", note);
    Live.hide("buzz-note", !note);
    Live.hide("options", !myTurn);
    Live.hide("submit-answer", !myTurn);
    setOptionsEnabled(myTurn);
    Live.hide("answered-note", true);
  }

  function drawOptions(q) {
    var list = Live.byId("options");
    Live.clear(list);
    var multiple = q.type === "multiple";
    q.options.forEach(function (option) {
      var li = Live.el("li");
      var label = Live.el("label");
      var input = Live.el("input");
      input.type = multiple ? "checkbox" : "radio";
      input.name = "choice";
      input.value = option.key;
      input.addEventListener("change", function () {
        selected = [];
        var inputs = list.getElementsByTagName("input");
        for (var i = 0; i < inputs.length; i++) if (inputs[i].checked) selected.push(inputs[i].value);
        Live.hide("answer-error", true);
      });
      label.appendChild(input);
      label.appendChild(Live.el("b", null, " " + option.key + ". "));
      label.appendChild(document.createTextNode(option.text));
      li.appendChild(label);
      list.appendChild(li);
    });
  }

  function setOptionsEnabled(enabled) {
    var inputs = Live.byId("options").getElementsByTagName("input");
    for (var i = 0; i < inputs.length; i++) inputs[i].disabled = !enabled;
  }

  function markChosen(keys) {
    var inputs = Live.byId("options").getElementsByTagName("input");
    for (var i = 0; i < inputs.length; i++) {
      var chosen = (keys || []).indexOf(inputs[i].value) >= 0;
      inputs[i].checked = chosen;
      inputs[i].parentNode.parentNode.className = chosen ? "chosen" : "";
    }
  }

  function renderReveal(data, you) {
    var verdict = Live.byId("verdict");
    var answered = you.answered;
    verdict.className = "verdict " + (data.correct ? "right" : "wrong");
    verdict.textContent = !answered ? say("none") : data.correct ? say("right") : say("wrong");
    Live.text("points", say("points", { points: data.points || 0 }));
    Live.text("key-line", say("key", { keys: keysText(data.correct_choices) }));
    Live.text("score-line", say("score", { score: you.score }));
    Live.text("rank-line", you.rank ? say("rank", { rank: you.rank }) : "");
    Live.text("streak-line", you.streak >= 2 ? say("streak", { n: you.streak }) : "");
    Live.text("explanation", data.explanation || "");
    var src = data.source || {};
    Live.text("source", [src.title, src.publisher, src.date].filter(Boolean).join(" · "));
    drawn = "";
  }

  function renderFinished(data, you) {
    Live.text("final-score", say("score", { score: you.score || 0 }));
    Live.text("final-rank", you.rank ? say("final-rank", { rank: you.rank }) : "");
    var list = Live.byId("final-top");
    Live.clear(list);
    (data.top || []).forEach(function (e) {
      list.appendChild(Live.el("li", null, e.rank + ". " + e.nickname + " · " + e.org_name + " · " + e.score));
    });
  }

  // The countdown display, from the server's seconds_left when the state arrived.
  function clock() {
    if (!state || state.phase !== "question") return;
    var left = state.paused ? Math.ceil(state.seconds_left) : Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    Live.text("clock", left);
    if (left <= 0 && !state.paused && state.mode === "quiz" && !(state.you && state.you.answered)) {
      Live.text("question-note", say("timeup"));
      Live.hide("question-note", false);
      setOptionsEnabled(false);
      Live.hide("submit-answer", true);
    }
  }
  setInterval(clock, 250);

  // ---------------------------------------------------------------- actions

  function apiError(data) {
    return data && data.error && data.error.message ? data.error.message : say("error");
  }

  function submit() {
    if (!state || state.phase !== "question") return;
    if (!selected.length) {
      Live.text("answer-error", say("choose"));
      Live.hide("answer-error", false);
      return;
    }
    var button = Live.byId("submit-answer");
    button.disabled = true;
    var body = { index: state.index, choices: selected.slice() };
    var tries = 0;
    (function send() {
      tries += 1;
      Live.request("POST", api + "/answers", { token: token, body: body }, function (code, data) {
        if (code === 0 && tries < 3) { setTimeout(send, 800); return; }  // lost signal: the server keeps one answer
        button.disabled = false;
        if (code !== 200 && code !== 409) {
          Live.text("answer-error", apiError(data));
          Live.hide("answer-error", false);
        }
        etag = null;
        tick();
      });
    })();
  }

  function buzz() {
    if (!state || state.phase !== "question") return;
    var button = Live.byId("buzz-button");
    button.disabled = true;
    Live.request("POST", api + "/buzz", { token: token, body: { index: state.index } }, function (code, data) {
      button.disabled = false;
      if (code !== 201 && code !== 409) {
        Live.text("answer-error", apiError(data));
        Live.hide("answer-error", false);
      }
      etag = null;
      tick();
    });
  }

  function join(event) {
    event.preventDefault();
    var button = Live.byId("join-button");
    button.disabled = true;
    var body = { nickname: Live.byId("nickname").value, org: Live.byId("org").value };
    Live.request("POST", api + "/players", { body: body }, function (code, data) {
      button.disabled = false;
      if (code === 201 && data && data.player_token) {
        token = data.player_token;
        Live.store.set(KEY, token);
        Live.hide("join-error", true);
        etag = null;
        tick();
        return;
      }
      Live.text("join-error", apiError(data));
      Live.hide("join-error", false);
    });
  }

  var form = Live.byId("join-form");
  if (form) form.addEventListener("submit", join);
  Live.byId("submit-answer").addEventListener("click", submit);
  Live.byId("buzz-button").addEventListener("click", buzz);
  Live.byId("leave").addEventListener("click", forget);
  Live.onWake(function () { schedule(0); });
  if (token) tick(); else show("join");
})();
