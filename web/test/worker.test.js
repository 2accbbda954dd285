/**
 * The worker's own pieces under Node: the Ed25519 fallback (used when WebCrypto lacks
 * Ed25519), the fail-over race (first verified answer wins, refused copies demote their
 * source, a frozen answer is abandoned by the watchdog) and the status line rewrite.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { HttpSource, MemorySource, TamperedError, TransportError, setEd25519Fallback, toHex, utf8 } from "../src/index.js";
import { verifySignature } from "../src/keys.js";
import { RacePool } from "../src/sw/pool.js";
import { rewriteStatus } from "../src/sw/status.js";

/** @type {any} */ (globalThis).self = globalThis;
await import("../src/ed25519-fallback.js");
/** @type {{verify: (p: Uint8Array, s: Uint8Array, m: Uint8Array) => Promise<boolean>}} */
const fallback = /** @type {any} */ (globalThis).tamizdatEd25519;

test("without WebCrypto Ed25519, signatures are checked by the audited fallback, strictly", async () => {
  const pair = /** @type {CryptoKeyPair} */ (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]));
  const publicKey = toHex(new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey)));
  const message = utf8("signed bytes");
  const signature = toHex(new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, pair.privateKey, message)));
  const key = { keytype: "ed25519", scheme: "ed25519", public: publicKey };
  const importKey = crypto.subtle.importKey;
  let used = 0;
  setEd25519Fallback((p, s, m) => (used++, fallback.verify(p, s, m)));
  crypto.subtle.importKey = /** @type {any} */ (async (/** @type {any[]} */ ...args) => {
    if (args[2]?.name === "Ed25519") throw new DOMException("no Ed25519", "NotSupportedError");
    return Reflect.apply(importKey, crypto.subtle, args);
  });
  try {
    assert.equal(await verifySignature(key, signature, message), true);
    assert.equal(await verifySignature(key, signature, utf8("other bytes")), false);
    const flipped = signature.slice(0, -2) + (signature.endsWith("00") ? "01" : "00");
    assert.equal(await verifySignature(key, flipped, message), false);
    assert.equal(used, 3);
  } finally {
    crypto.subtle.importKey = importKey;
    setEd25519Fallback(null);
  }
});

/** @param {Uint8Array} data @param {string} where */
const onlyGood = (data, where) => {
  if (new TextDecoder().decode(data) !== "good") throw new TamperedError("altered", { where });
  return data;
};

test("the race: a refused copy never wins, its source is demoted, the next one delivers", async () => {
  const liar = new MemorySource(new Map([["f", utf8("forged")]]), "liar");
  const honest = new MemorySource(new Map([["f", utf8("good")]]), "honest");
  const pool = new RacePool([liar, honest], { hedgeMs: 10_000 });
  assert.equal(new TextDecoder().decode(await pool.fetchChecked("f", 100, onlyGood)), "good");
  assert.deepEqual(pool.refusals, [{ source: "liar", path: "f", older: false }]);
  assert.deepEqual(pool.sources.map((s) => s.name), ["honest", "liar"]);
  await assert.rejects(new RacePool([liar], { hedgeMs: 10 }).fetchChecked("f", 100, onlyGood), TamperedError);
});

test("the race: a source that hangs is raced after the hedge delay", async () => {
  const hanging = { name: "hanging", remote: true, fetch: () => new Promise(() => {}) };
  const honest = new MemorySource(new Map([["f", utf8("good")]]), "honest");
  const pool = new RacePool([/** @type {any} */ (hanging), honest], { hedgeMs: 20 });
  assert.equal(new TextDecoder().decode(await pool.fetchChecked("f", 100, onlyGood)), "good");
});

test("the watchdog abandons an answer that stops making progress", async () => {
  const server = createServer((_request, response) => {
    response.writeHead(200, { "content-length": "100" });
    response.write("x".repeat(10)); // then nothing: a frozen connection
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(null)));
  const { port } = /** @type {import("node:net").AddressInfo} */ (server.address());
  try {
    const source = new HttpSource(`http://127.0.0.1:${port}/`, { stallMs: 200 });
    await assert.rejects(source.fetch("file.html", 100), (error) => error instanceof TransportError && /abandoned file.html: stalled/.test(error.message));
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test("the status line: only the marker changes, every value is escaped, in the page's language", () => {
  const marker = '<p class="tz-status" data-tz-verified="Проверено · выпуск {release} · опубликован {date}" data-tz-refused="копия с {mirror} отвергнута; показано с {shown}"><!--tz-status--><a href="v">static</a><!--/tz-status--></p>';
  const html = `<html lang="ru"><body>${marker}<p>static</p></body></html>`;
  const out = rewriteStatus(html, { state: "verified", release: 7, published: "2026-05-01T10:00:00Z", since: null, refused: "<evil>", shown: "m" });
  assert.match(out, /<!--tz-status-->Проверено · выпуск 7 · опубликован 1 мая 2026 г\.(,| в) 10:00 — копия с &#60;evil&#62; отвергнута; показано с m<!--\/tz-status-->/);
  assert.match(out, /data-tz-state="verified refused"/);
  assert.ok(out.endsWith("<p>static</p></body></html>"));
  assert.equal(rewriteStatus("<p>no marker</p>", { state: "verified", release: 1, published: null, since: null, refused: null, shown: "" }), "<p>no marker</p>");
});
