// Visual countdown only: the server's clock decides whether an answer is in time.
// Screen readers hear the time left at a few milestones (a polite live region), not every second.
(function () {
  var el = document.getElementById("countdown");
  if (!el) return;
  var left = parseInt(el.getAttribute("data-seconds-left"), 10) || 0;
  var deadline = Date.now() + left * 1000;
  var note = document.getElementById("timeout-note");
  var say = document.getElementById("countdown-say");
  var milestones = [60, 30, 10, 5].filter(function (m) { return m < left; });
  function tick() {
    var s = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    el.textContent = s;
    if (say && milestones.length && s <= milestones[0]) {
      while (milestones.length && s <= milestones[0]) milestones.shift();
      say.textContent = (say.getAttribute("data-say-left") || "").replace("{n}", s);
    }
    if (s <= 0) {
      if (note) {
        note.hidden = false;
        if (say) say.textContent = note.textContent;
      }
      return;
    }
    setTimeout(tick, 250);
  }
  tick();
})();
