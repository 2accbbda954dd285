// tamizdat tz-register.js: generated from web/src/register.js by `npm run build` (do not edit).
"use strict";
(() => {
  (() => {
    const container = navigator.serviceWorker;
    const script = document.currentScript;
    if (!container || !script) return;
    const root = new URL("../", script.src);
    if (root.pathname !== "/" || root.origin !== location.origin) return;
    container.addEventListener("message", (event) => {
      const what = event.data?.tamizdat;
      const marker = document.querySelector(".tz-status");
      if (!marker || what !== "anchor-refused" && what !== "origin-refused") return;
      marker.textContent = marker.getAttribute(`data-tz-${what.split("-")[0]}`) ?? what;
      marker.setAttribute("data-tz-state", what);
    });
    container.register("/sw.js", { scope: "/" }).catch(() => {
    });
  })();
})();
