// tamizdat tz-verify.js: generated from web/src/verify-page.js by `npm run build` (do not edit).
"use strict";
(() => {
  (() => {
    const form = document.getElementById("tz-verify");
    const output = document.getElementById("tz-verify-result");
    if (!form || !output) return;
    const say = (key, values = {}) => {
      output.textContent = (form.getAttribute(`data-tz-${key}`) ?? key).replace(/\{(\w+)\}/g, (m, name) => values[name] ?? m);
      output.setAttribute("data-tz-result", key);
    };
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const typed = String(new FormData(form).get("fingerprint") ?? "").replace(/[\s:]/g, "").toLowerCase();
      if (!/^[0-9a-f]{64}$/.test(typed)) return say("malformed");
      const worker = navigator.serviceWorker?.controller;
      if (!worker) return say("noworker");
      say("checking");
      const channel = new MessageChannel();
      channel.port1.onmessage = (reply) => {
        const { outcome, version, published, problem } = reply.data;
        if (outcome === "current" || outcome === "stale") say(outcome, { release: String(version), date: published ?? "?" });
        else say(outcome === "NotThisPublisherError" ? "other" : "failed", { problem: problem ?? outcome });
      };
      worker.postMessage({ tamizdat: "verify", fingerprint: typed }, [channel.port2]);
    });
  })();
})();
