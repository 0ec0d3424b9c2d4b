// The question editor: the answer marks are radio buttons for a single or judge question and checkboxes for a
// multiple one; switching the type switches them (the server checks the answer either way).
(function () {
  "use strict";
  var type = document.getElementById("type");
  if (!type) { return; }
  function sync() {
    var marks = document.querySelectorAll('#field-options input[name="answer"]');
    var kind = type.value === "multiple" ? "checkbox" : "radio";
    var kept = false;
    for (var i = 0; i < marks.length; i++) {
      var wasChecked = marks[i].checked;
      marks[i].type = kind;
      // a radio group keeps one answer: the first one that was marked
      marks[i].checked = kind === "checkbox" ? wasChecked : (wasChecked && !kept);
      if (marks[i].checked) { kept = true; }
    }
  }
  type.addEventListener("change", sync);
}());
