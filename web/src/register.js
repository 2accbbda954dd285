/**
 * Every page's script (about 1 KB): registers tamizdat's service worker at the root of this
 * origin, and shows in the status line what only the worker knows went wrong. The site works
 * the same without it (JavaScript off, or a browser without service workers).
 * Invariant: never registers on a path-prefixed host (a bucket under a shared domain): the
 * worker's scope would be the whole shared origin. Such mirrors are fetched from only.
 */
(() => {
  const container = navigator.serviceWorker;
  const script = /** @type {HTMLScriptElement | null} */ (document.currentScript);
  if (!container || !script) return;
  const root = new URL("../", script.src);
  if (root.pathname !== "/" || root.origin !== location.origin) return;
  container.addEventListener("message", (event) => {
    const what = event.data?.tamizdat;
    const marker = document.querySelector(".tz-status");
    if (!marker || (what !== "anchor-refused" && what !== "origin-refused")) return;
    marker.textContent = marker.getAttribute(`data-tz-${what.split("-")[0]}`) ?? what;
    marker.setAttribute("data-tz-state", what);
  });
  container.register("/sw.js", { scope: "/" }).catch(() => {});
})();
