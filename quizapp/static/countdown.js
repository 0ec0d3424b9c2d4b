// Visual countdown only: the server's clock decides whether an answer is in time.
(function () {
  var el = document.getElementById("countdown");
  if (!el) return;
  var left = parseInt(el.getAttribute("data-seconds-left"), 10) || 0;
  var deadline = Date.now() + left * 1000;
  var note = document.getElementById("timeout-note");
  function tick() {
    var s = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    el.textContent = s;
    if (s <= 0) {
      if (note) note.hidden = false;
      return;
    }
    setTimeout(tick, 250);
  }
  tick();
})();
