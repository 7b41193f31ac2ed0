// The regrade comparison page: poll regrade.json while submissions wait or are graded and
// update each row's status, previous and latest score and change in place; stop when all
// are final.
(function () {
  "use strict";
  var el = document.getElementById("regrade-progress");
  if (!el || !el.dataset.pollUrl) { return; }
  var url = el.dataset.pollUrl;
  var delay = (parseFloat(el.dataset.pollSeconds) || 2) * 1000;
  function pts(v) {
    if (v === null || v === undefined) { return "\u2014"; }
    return String(Math.round(v * 100) / 100);
  }
  function setText(row, cls, text) {
    var cell = row.querySelector("td." + cls);
    if (cell) { cell.textContent = text; }
  }
  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(function (data) {
        var pending = 0;
        data.submissions.forEach(function (s) {
          var row = document.querySelector('tr[data-submission="' + s.id + '"]');
          if (s.status === "queued" || s.status === "running") { pending += 1; }
          if (!row) { return; }
          var label = row.querySelector("td.st .status");
          if (label) {
            label.textContent = s.status.replace("_", " ");
            label.className = "status status-" + s.status;
          }
          setText(row, "previous", pts(s.previous));
          setText(row, "latest", pts(s.latest));
          setText(row, "change", s.change === null ? "\u2014" : (s.change > 0 ? "+" : "") + pts(s.change));
        });
        var count = el.querySelector(".pending-count");
        if (count) { count.textContent = String(pending); }
        if (pending > 0) { window.setTimeout(poll, delay); }
        else { el.dataset.done = "1"; }
      })
      .catch(function () { window.setTimeout(poll, delay * 2); });
  }
  window.setTimeout(poll, delay);
})();
