// Client-side search over the same-origin static index ({lang}/search-index.json).
// Without JavaScript the page keeps its plain link to the archive. Results are built with
// textContent only, never innerHTML, so index text cannot inject markup.
(function () {
  "use strict";
  var form = document.querySelector("form.search");
  if (!form || !window.fetch) return;
  var input = form.querySelector("input");
  var list = document.querySelector(".search-results");
  var status = document.querySelector(".search-status");
  var fallback = document.querySelector(".search-fallback");
  var indexUrl = new URL(form.getAttribute("data-index"), document.baseURI);
  var base = new URL("../", document.baseURI);
  var items = null;

  function norm(text) { return (text || "").toLowerCase().normalize("NFKD").replace(/[\u0300-\u036f]/g, ""); }

  function show(query) {
    while (list.firstChild) list.removeChild(list.firstChild);
    var words = norm(query).split(/\s+/).filter(Boolean);
    if (!items || !words.length) { status.textContent = ""; return; }
    var found = items.filter(function (item) {
      return words.every(function (w) { return item.hay.indexOf(w) >= 0; });
    }).slice(0, 50);
    // The page's own words (data-found, data-none) keep the status in the page's language.
    status.textContent = found.length
      ? (form.getAttribute("data-found") || "{found} / {total}")
          .replace("{found}", String(found.length)).replace("{total}", String(items.length))
      : (form.getAttribute("data-none") || "0");
    found.forEach(function (item) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = new URL(item.u, base).href;
      a.textContent = item.t;
      var time = document.createElement("time");
      time.dateTime = item.d;
      time.textContent = " " + item.d;
      var p = document.createElement("p");
      p.textContent = item.s;
      li.append(a, time, p);
      list.appendChild(li);
    });
  }

  form.hidden = false;
  if (fallback) fallback.hidden = true;
  fetch(indexUrl.href).then(function (r) { return r.json(); }).then(function (data) {
    items = data.items.map(function (item) {
      item.hay = norm([item.t, item.s, (item.k || []).join(" ")].join(" "));
      return item;
    });
    var query = new URLSearchParams(location.search).get("q") || "";
    input.value = query;
    show(query);
  }).catch(function () { if (fallback) fallback.hidden = false; });
  input.addEventListener("input", function () { show(input.value); });
  form.addEventListener("submit", function (e) { e.preventDefault(); show(input.value); });
})();
