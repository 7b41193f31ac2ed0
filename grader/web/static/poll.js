// Poll the submission's status endpoint until grading finishes, then reload the page; show the
// queue position and wait estimate (data.queue.text) meanwhile.
(function () {
  "use strict";
  var el = document.getElementById("status");
  if (!el || !el.dataset.pollUrl) { return; }
  var url = el.dataset.pollUrl;
  var delay = (parseFloat(el.dataset.pollSeconds) || 2) * 1000;
  var label = el.querySelector(".status");
  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(function (data) {
        if (data.final) { window.location.reload(); return; }
        if (label) {
          label.textContent = data.status;
          label.className = "status status-" + data.status;
        }
        var info = document.getElementById("queue-info");
        if (info && data.queue && data.queue.text) { info.textContent = data.queue.text; }
        window.setTimeout(poll, delay);
      })
      .catch(function () { window.setTimeout(poll, delay * 2); });
  }
  window.setTimeout(poll, delay);
})();
