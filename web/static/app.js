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

  /* Related coverage arrives after the article: the page does not wait for it. */
  var related = document.getElementById("related");
  var later = related && related.querySelector(".related-later");
  if (later && window.fetch && related.getAttribute("data-fragment")) {
    fetch(related.getAttribute("data-fragment"), { headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) { return; }
        var holder = document.createElement("div");
        holder.innerHTML = html; /* the server's own escaped markup, same origin */
        later.parentNode.replaceChild(holder, later);
      })
      .catch(function () { /* offline: the link stays */ });
  }

  /* Sorting applies as soon as another order is chosen. */
  var sort = document.getElementById("sort");
  if (sort && sort.form) {
    sort.addEventListener("change", function () { sort.form.submit(); });
  }
})();
