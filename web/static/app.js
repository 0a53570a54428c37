/* Stichwort: progressive enhancements. Every page works without this file. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  /* Autocomplete: fill the <datalist> of the query box from /api/suggest. */
  var input = document.getElementById("q");
  var list = document.getElementById("q-suggestions");
  if (input && list && window.fetch) {
    var endpoint = input.getAttribute("data-suggest-url") || "/api/suggest";
    var timer = null;
    var lastQuery = null;
    var controller = null;

    var fill = function (items) {
      while (list.firstChild) {
        list.removeChild(list.firstChild);
      }
      items.forEach(function (text) {
        if (typeof text !== "string") { return; }
        var option = document.createElement("option");
        option.value = text;
        list.appendChild(option);
      });
    };

    var update = function () {
      var q = input.value;
      if (q === lastQuery) { return; }
      lastQuery = q;
      if (controller) { controller.abort(); }
      if (!q.trim()) { fill([]); return; }
      controller = window.AbortController ? new AbortController() : null;
      var url = endpoint + "?size=8&q=" + encodeURIComponent(q);
      fetch(url, { headers: { "Accept": "application/json" }, signal: controller ? controller.signal : undefined })
        .then(function (response) { return response.ok ? response.json() : { suggestions: [] }; })
        .then(function (data) {
          if (q === input.value) { fill((data && data.suggestions) || []); }
        })
        .catch(function () { /* aborted or offline: keep the old suggestions */ });
    };

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(update, 150);
    });
  }

  /* Sorting applies as soon as another order is chosen. */
  var sort = document.getElementById("sort");
  if (sort && sort.form) {
    sort.addEventListener("change", function () { sort.form.submit(); });
  }
})();
