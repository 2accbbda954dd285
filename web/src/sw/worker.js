/**
 * tamizdat's service worker (`/sw.js`): every page and file of the site is answered only with
 * bytes verified against the publisher's keys (docs/verification-policy.md), from this
 * browser's verified cache when the release is fresh, else from the origin and the mirrors of
 * the signed mirror list, raced: the first verified answer wins.
 * Invariants:
 * - a copy that fails verification never reaches the page; its mirror is demoted;
 * - the trust anchor (the publisher's root fingerprint, baked in by `tamizdat build`) is
 *   never swapped silently: a new worker with another anchor takes over only when that anchor
 *   names a root reached by signed rotation from the root this browser trusts;
 * - the worker installs only on an origin the signed release allows (the site's own address
 *   or a mirror of the signed list served at the root of its origin).
 */
import { ClientWorkflow, NO_COPY } from "../workflow.js";
import { LazyRelease } from "../release.js";
import { HttpSource } from "../fetch.js";
import { TransportError } from "../errors.js";
import { sha256Hex, decodeUtf8 } from "../bytes.js";
import { setEd25519Fallback } from "../keys.js";
import { MIRRORS_JSON, WELL_KNOWN, byHashPath } from "../layout.js";
import { RacePool } from "./pool.js";
import { KEPT, cacheObject, cachedObject, load, save } from "./store.js";
import { escapeHtml, rewriteStatus } from "./status.js";

/** What `tamizdat build` bakes into the first line of sw.js. */
/** @type {{anchor: string, site: string, csp: string}} */
const CONFIG = /** @type {any} */ (self).TAMIZDAT;
/** @type {any} the ServiceWorkerGlobalScope (the DOM typings do not describe it) */
const worker = self;

/** The next mirror is asked when the current one has not delivered within this. */
const HEDGE_MS = 700;
/** An answer with no progress (headers or the next chunk) for this long is abandoned. */
const STALL_MS = 4000;
/** A verified release is used without asking the network again for this long. */
const FRESH_MS = 30_000;
const FALLBACK = "assets/tz-ed25519.js";
const OWN = new URL("/", self.location.href).href;

/** @type {Record<string, string>} */
const TYPES = {
  html: "text/html; charset=utf-8", css: "text/css; charset=utf-8", js: "text/javascript; charset=utf-8",
  json: "application/json", xml: "application/xml", txt: "text/plain; charset=utf-8", svg: "image/svg+xml",
  png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", webp: "image/webp", avif: "image/avif", gif: "image/gif",
  ico: "image/x-icon", woff2: "font/woff2", woff: "font/woff", pdf: "application/pdf", mp3: "audio/mpeg",
  ogg: "audio/ogg", mp4: "video/mp4", webm: "video/webm", m4a: "audio/mp4",
};

/**
 * @typedef {object} Release what the last verification found (kept in IndexedDB)
 * @property {number} version
 * @property {string | null} published
 * @property {string} verifiedAt
 * @property {boolean} stale
 * @property {Record<string, string>} paths the sha256 of every path this browser verified
 */

/** @typedef {{release: LazyRelease, pool: RacePool, info: Release, checkedAt: number}} Verified */

/** @type {Verified | null} */
let current = null;
/** @type {Promise<Verified> | null} */
let refreshing = null;

/** The pinned fingerprint: the one this browser trusted first, else the baked-in anchor. */
const fingerprint = async () => /** @type {string} */ ((await load("anchor")) ?? CONFIG.anchor);

/** @param {unknown} value */
const isHttp = (value) => typeof value === "string" && /^https?:\/\/[^\s]+$/.test(value);

/** The origin, the site's address and the signed mirrors, least demoted first. */
async function sources() {
  /** @type {string[]} */
  const listed = (await load("mirrors")) ?? [];
  /** @type {Record<string, number>} */
  const demoted = (await load("demoted")) ?? {};
  const others = [...new Set([CONFIG.site, ...listed])].filter((u) => isHttp(u) && u !== OWN);
  others.sort((a, b) => (demoted[a] ?? 0) - (demoted[b] ?? 0));
  return [OWN, ...others].map((url) => new HttpSource(url, { stallMs: STALL_MS, timeoutMs: 120_000, name: url }));
}

/** @param {{source: string}} refusal */
async function demote(refusal) {
  const demoted = (await load("demoted")) ?? {};
  demoted[refusal.source] = (demoted[refusal.source] ?? 0) + 1;
  await save("demoted", demoted);
}

/** @param {string} url the origins where the worker may install: root-scoped, listed */
const allowedHere = (url) => {
  try {
    const address = new URL(url);
    return address.pathname === "/" && `${address.origin}/` === OWN;
  } catch {
    return false;
  }
};

/**
 * Verify the current release (steps 1–5, the log) and remember it.
 * @returns {Promise<Verified>}
 */
async function refresh() {
  const pool = new RacePool(await sources(), { hedgeMs: HEDGE_MS, onRefused: demote });
  const pinned = await fingerprint();
  const release = await LazyRelease.open(pool, { now: Date.now(), fingerprint: pinned, seen: (await load("seen")) ?? undefined, copy: KEPT });
  const { log, entry } = await release.published();
  const policy = release.workflow.policy;
  const seen = policy.seenAfter();
  const last = log[log.length - 1];
  if (last) seen.log_head = [last.index, last.hash];
  const list = await release.read(MIRRORS_JSON);
  /** @type {string[]} */
  let mirrors = [];
  try {
    const parsed = list ? JSON.parse(decodeUtf8(list)) : null;
    mirrors = (Array.isArray(parsed?.mirrors) ? parsed.mirrors : []).map((/** @type {any} */ m) => m?.public_url).filter(isHttp);
  } catch {
    // A signed list we cannot read names no mirror; the site itself stays readable.
  }
  /** @type {Release | undefined} */
  const before = await load("release");
  /** @type {Release} */
  const info = {
    version: policy.snapshot.version, published: entry?.time ?? null, verifiedAt: new Date().toISOString(),
    stale: release.stale, paths: before?.paths ?? {},
  };
  await save("seen", seen);
  await save("anchor", pinned);
  await save("mirrors", mirrors);
  await save("release", info);
  await save("allowed", [CONFIG.site, ...mirrors].some(allowedHere));
  current = { release, pool, info, checkedAt: Date.now() };
  return current;
}

/**
 * The verified release, refreshed when older than FRESH_MS (one refresh at a time).
 * @returns {Promise<Verified>}
 */
function fresh() {
  if (current && Date.now() - current.checkedAt < FRESH_MS) return Promise.resolve(current);
  refreshing ??= refresh().finally(() => (refreshing = null));
  return refreshing;
}

/**
 * @param {string} path
 * @param {Uint8Array | string} body
 * @param {number} status
 */
function respond(path, body, status) {
  const type = TYPES[/\.(\w+)$/.exec(path)?.[1]?.toLowerCase() ?? ""] ?? "application/octet-stream";
  const headers = {
    "content-type": type, "x-content-type-options": "nosniff", "content-security-policy": CONFIG.csp,
    "referrer-policy": "no-referrer",
  };
  return new Response(/** @type {BodyInit} */ (body), { status, headers });
}

/** @param {string} where e.g. `http://mirror/: .well-known/…` @returns {string} the mirror's host */
const hostOf = (where) => {
  try {
    return new URL(where.split(": ")[0]).host;
  } catch {
    return new URL(OWN).host;
  }
};

/**
 * A verified file, with the status line rewritten in HTML pages.
 * @param {string} path
 * @param {Uint8Array} data
 * @param {number} status
 * @param {import("./status.js").Status} line
 */
function page(path, data, status, line) {
  if (!path.endsWith(".html")) return respond(path, data, status);
  return respond(path, rewriteStatus(decodeUtf8(data), line), status);
}

/** Offline (no source answered): a visited page from the cache, else the mirror list. */
/** @param {string} path @param {boolean} navigate */
async function offline(path, navigate) {
  /** @type {Release | undefined} */
  const info = await load("release");
  for (const [name, status] of /** @type {[string, number][]} */ ([[path, 200], ["mirrors/index.html", 503]])) {
    const sha = info?.paths[name];
    const data = sha ? await cachedObject(byHashPath(name, sha)) : null;
    if (info && data && (name === path || navigate)) {
      return page(name, data, status, {
        state: "offline", release: info.version, published: info.published, since: info.verifiedAt, refused: null, shown: "",
      });
    }
  }
  if (!navigate) return Response.error();
  /** @type {string[]} */
  const mirrors = (await load("mirrors")) ?? [];
  const links = mirrors.map((m) => `<li><a href="${escapeHtml(m)}">${escapeHtml(m)}</a></li>`).join("");
  return respond("offline.html", `<!doctype html><meta charset="utf-8"><title>offline</title><ul>${links}</ul>`, 503);
}

/** @param {unknown} error */
function refusedPage(error) {
  const problem = error instanceof Error ? error.message : String(error);
  return respond("refused.txt", `tamizdat: no verified copy of this page could be found.\n${problem}\n`, 502);
}

/**
 * @param {Request} request
 * @returns {Promise<Response>}
 */
async function answer(request) {
  const url = new URL(request.url);
  let path;
  try {
    path = decodeURIComponent(url.pathname.slice(1));
  } catch {
    return respond("404.txt", "not a file this publisher signed\n", 404); // malformed %-escape
  }
  if (path === "" || path.endsWith("/")) path += "index.html";
  const navigate = request.mode === "navigate";
  const held = current;
  let state;
  try {
    state = await fresh();
  } catch (error) {
    return error instanceof TransportError ? offline(path, navigate) : refusedPage(error);
  }
  // Copies refused while fetching this page (and the release, when this request renewed it).
  const mark = state === held ? state.pool.refusals.length : 0;
  try {
    let data = await state.release.read(path);
    let status = 200;
    if (!data && !/\.\w+$/.test(path) && (await state.release.workflow.resolve(`${path}/index.html`))) {
      return Response.redirect(`${url.origin}${url.pathname}/`, 301);
    }
    if (!data) {
      [path, status, data] = ["404.html", 404, await state.release.read("404.html")];
      if (!data) return respond("404.txt", "not a file this publisher signed\n", 404);
    }
    const sha = await sha256Hex(data);
    const location = byHashPath(path, sha);
    await cacheObject(location, data);
    if (state.info.paths[path] !== sha) {
      state.info.paths[path] = sha;
      await save("release", state.info);
    }
    const where = state.release.workflow.origins.get(location) ?? OWN;
    const shown = where.startsWith(KEPT.name) ? new URL(OWN).host : hostOf(where);
    const altered = state.pool.refusals.slice(mark).filter((r) => !r.older);
    const refused = altered.map((r) => hostOf(r.source)).find((h) => h !== shown) ?? null;
    return page(path, data, status, {
      state: state.info.stale ? "stale" : "verified", release: state.info.version, published: state.info.published,
      since: null, refused, shown,
    });
  } catch (error) {
    return error instanceof TransportError ? offline(path, navigate) : refusedPage(error);
  }
}

/** Tell every open page something (the register script shows it in the status line). */
/** @param {string} what */
async function tell(what) {
  for (const client of await worker.clients.matchAll({ includeUncontrolled: true, type: "window" })) {
    client.postMessage({ tamizdat: what });
  }
}

/**
 * The baked-in anchor may differ from the root this browser trusts only if a root reached by
 * signed rotation from the trusted one has that fingerprint.
 * @throws {Error} the anchor is not the publisher's: the worker must not take over
 */
async function checkAnchor() {
  const trusted = await load("anchor");
  if (!trusted || trusted === CONFIG.anchor) return;
  const pool = new RacePool(await sources(), { hedgeMs: HEDGE_MS });
  const workflow = new ClientWorkflow(pool, { now: Date.now(), fingerprint: trusted, seen: (await load("seen")) ?? undefined, copy: KEPT });
  await workflow.loadRoot();
  for (const [name, data] of workflow.metadata) {
    if (name.endsWith(".root.json") && (await sha256Hex(data)) === CONFIG.anchor) return;
  }
  throw new Error(`refused a new service worker: its publisher key ${CONFIG.anchor} is not the one this browser trusts`);
}

/** Load the audited Ed25519 fallback (only while installing may a worker import scripts). */
async function ed25519Fallback() {
  try {
    await crypto.subtle.importKey("raw", new Uint8Array(32), { name: "Ed25519" }, false, ["verify"]);
  } catch (error) {
    if (error instanceof DOMException && error.name === "NotSupportedError") worker.importScripts(OWN + FALLBACK);
  }
}

setEd25519Fallback((publicKey, signature, message) => {
  worker.importScripts(OWN + FALLBACK); // from the worker's script cache since installation
  return worker.tamizdatEd25519.verify(publicKey, signature, message);
});

async function install() {
  await ed25519Fallback();
  try {
    await checkAnchor();
  } catch (error) {
    // Unreachable says nothing about the anchor: the browser tries installing again later.
    if (!(error instanceof TransportError)) await tell("anchor-refused");
    throw error;
  }
  const state = await refresh();
  if (!(await load("allowed"))) {
    await tell("origin-refused");
    throw new Error(`refused to install on ${OWN}: not an address the signed mirror list allows`);
  }
  // The mirror list, for offline readers who reach a page they never visited.
  const mirrorsPage = await state.release.read("mirrors/index.html").catch(() => null);
  if (mirrorsPage) {
    const sha = await sha256Hex(mirrorsPage);
    await cacheObject(byHashPath("mirrors/index.html", sha), mirrorsPage);
    state.info.paths["mirrors/index.html"] = sha;
    await save("release", state.info);
  }
  await worker.skipWaiting();
}

/**
 * The verify page's in-browser check: the current release against the fingerprint the
 * reader typed (nothing is kept: another publisher's metadata never enters this browser's
 * trusted copy).
 * @param {string} typed
 */
async function verifyFor(typed) {
  const pool = new RacePool(await sources(), { hedgeMs: HEDGE_MS });
  try {
    const release = await LazyRelease.open(pool, { now: Date.now(), fingerprint: typed.toLowerCase(), copy: NO_COPY });
    const { entry } = await release.published();
    const version = release.workflow.policy.snapshot.version;
    return { outcome: release.stale ? "stale" : "current", version, published: entry?.time ?? null, problem: null };
  } catch (error) {
    const e = /** @type {import("../errors.js").TamizdatError} */ (error);
    return { outcome: e.name ?? "error", version: 0, published: null, problem: e.problem ?? String(error) };
  }
}

worker.addEventListener("install", (/** @type {any} */ event) => event.waitUntil(install()));
worker.addEventListener("activate", (/** @type {any} */ event) => event.waitUntil(worker.clients.claim()));
worker.addEventListener("message", (/** @type {any} */ event) => {
  const data = event.data;
  if (data?.tamizdat === "verify" && typeof data.fingerprint === "string" && event.ports?.[0]) {
    event.waitUntil(verifyFor(data.fingerprint).then((result) => event.ports[0].postMessage(result)));
  }
});
worker.addEventListener("fetch", (/** @type {any} */ event) => {
  const request = /** @type {Request} */ (event.request);
  const url = new URL(request.url);
  // Only this site's own files; the metadata and objects under .well-known/ go to the
  // network as they are (the verifier fetches and checks them itself).
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith(`/${WELL_KNOWN}/`) || url.pathname === "/sw.js") return;
  event.respondWith(answer(request));
});
