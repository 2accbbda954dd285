// Progressive enhancement: adds "4 hours ago" after an article's date. The page is complete
// without it. Same-origin, no network access, no storage.
(function () {
  "use strict";
  if (!("RelativeTimeFormat" in Intl)) return;
  var lang = document.documentElement.lang || "en";
  var format = new Intl.RelativeTimeFormat(lang, { numeric: "auto" });
  var units = [["year", 31536e6], ["month", 2592e6], ["week", 6048e5], ["day", 864e5],
               ["hour", 36e5], ["minute", 6e4]];
  var nodes = document.querySelectorAll("time[data-relative]");
  for (var i = 0; i < nodes.length; i++) {
    var when = Date.parse(nodes[i].getAttribute("datetime"));
    if (isNaN(when)) continue;
    var delta = when - Date.now();
    for (var j = 0; j < units.length; j++) {
      if (Math.abs(delta) >= units[j][1] || units[j][0] === "minute") {
        var span = document.createElement("span");
        span.className = "relative-time";
        span.textContent = " (" + format.format(Math.round(delta / units[j][1]), units[j][0]) + ")";
        nodes[i].after(span);
        break;
      }
    }
  }
})();
