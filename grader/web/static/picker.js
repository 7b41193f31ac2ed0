// Student pickers (issue 14): an <input list="student-options" data-student-search> suggests
// students from /instructor/students.json as the user types (server-side search: name,
// username or e-mail), instead of a <select> of every student. Without script the field still
// takes a username.
(function () {
  "use strict";
  function setup(input) {
    var list = document.getElementById(input.getAttribute("list"));
    if (!list || !list.dataset.searchUrl) { return; }
    var timer = null, last = null;
    input.addEventListener("input", function () {
      var q = input.value.trim();
      if (q === last || q.length < 1) { return; }
      clearTimeout(timer);
      timer = setTimeout(function () {
        last = q;
        fetch(list.dataset.searchUrl + "?q=" + encodeURIComponent(q), {credentials: "same-origin"})
          .then(function (r) { return r.ok ? r.json() : {students: []}; })
          .then(function (data) {
            if (input.value.trim() !== q) { return; }
            while (list.firstChild) { list.removeChild(list.firstChild); }
            data.students.forEach(function (s) {
              var option = document.createElement("option");
              option.value = s.username;
              option.textContent = s.name + (s.section ? " (" + s.section + ")" : "");
              list.appendChild(option);
            });
            list.dataset.count = String(data.students.length);
          });
      }, 150);
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("input[data-student-search]"), setup);
  });
})();
