// astra ui: optional enhancements. Every page works without this file.
"use strict";
(function () {
  // The live `schedule explain` preview beside a schedule field.
  var input = document.querySelector("input[data-explain]");
  var out = document.getElementById("schedule-preview");
  if (!input || !out) return;
  var timer = null;
  function render(data) {
    out.textContent = "";
    var p = document.createElement("p");
    if (!data.ok) {
      p.className = "error";
      p.textContent = data.error;
      out.appendChild(p);
      return;
    }
    p.textContent = data.description;
    out.appendChild(p);
    var ul = document.createElement("ul");
    ul.className = "next-runs";
    (data.next_runs_text || data.next_runs).forEach(function (t) {
      var li = document.createElement("li");
      li.textContent = t;
      ul.appendChild(li);
    });
    out.appendChild(ul);
  }
  function explain() {
    var url = "/api/explain?expr=" + encodeURIComponent(input.value);
    fetch(url, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(render)
      .catch(function () {});
  }
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(explain, 200);
  });
})();
