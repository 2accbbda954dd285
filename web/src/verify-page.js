/**
 * The verify page's in-browser check: the reader types the publisher's fingerprint, the
 * service worker verifies the current release against it and the page says what it found.
 * Without a worker (not installed yet, JavaScript off) the page's command-line instructions
 * remain the way to check.
 */
(() => {
  const form = /** @type {HTMLFormElement | null} */ (document.getElementById("tz-verify"));
  const output = document.getElementById("tz-verify-result");
  if (!form || !output) return;
  /** @param {string} key @param {Record<string, string>} [values] */
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
