import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import {
  HttpSource, MissingFileError, OversizeError, MirrorResponseError, TamperedError, canonicalBytes, parseMetadata, toHex, utf8,
} from "../src/index.js";
import { verifySignature } from "../src/keys.js";

test("canonical JSON: sorted keys, no whitespace, only backslash and quote escaped", () => {
  assert.equal(new TextDecoder().decode(canonicalBytes({ b: [1, true, null], a: 'q"\\\n' })), '{"a":"q\\"\\\\\n","b":[1,true,null]}');
  assert.throws(() => canonicalBytes({ a: 1.5 }), TypeError);
});

test("unreadable metadata is tampered: a byte-order mark, duplicate signatures, a bad date", () => {
  const signed = { _type: "timestamp", spec_version: "1.0.31", version: 1, expires: "2030-01-01T00:00:00Z", meta: { "snapshot.json": { version: 1 } } };
  const good = JSON.stringify({ signatures: [], signed });
  assert.equal(parseMetadata(utf8(good), "timestamp", "t").signed.version, 1);
  const bad = [
    `\ufeff${good}`,
    JSON.stringify({ signatures: [{ keyid: "a", sig: "" }, { keyid: "a", sig: "" }], signed }),
    JSON.stringify({ signatures: [], signed: { ...signed, expires: "2030-02-30T00:00:00Z" } }),
    JSON.stringify({ signatures: [], signed: { ...signed, version: 0 } }),
    JSON.stringify({ signatures: [], signed: { ...signed, spec_version: "2.0.0" } }),
  ];
  for (const text of bad) assert.throws(() => parseMetadata(utf8(text), "timestamp", "t"), TamperedError, text);
  assert.throws(() => parseMetadata(utf8(good), "snapshot", "t"), /expected snapshot metadata, found timestamp/);
});

/** @param {Uint8Array} raw r‖s @param {number} size */
function rawToDer(raw, size) {
  const ints = [raw.slice(0, size), raw.slice(size)].map((n) => {
    let i = 0;
    while (i < n.length - 1 && n[i] === 0) i++;
    const body = n[i] & 0x80 ? [0, ...n.slice(i)] : [...n.slice(i)];
    return [0x02, body.length, ...body];
  });
  const content = ints.flat();
  return new Uint8Array([0x30, content.length, ...content]);
}

/** @param {ArrayBuffer} spki */
const pem = (spki) => `-----BEGIN PUBLIC KEY-----\n${btoa(String.fromCharCode(...new Uint8Array(spki)))}\n-----END PUBLIC KEY-----\n`;

test("ECDSA P-256 (DER signatures) and RSA-PSS keys verify; a flipped bit does not", async () => {
  const message = utf8("payload");
  const ec = /** @type {CryptoKeyPair} */ (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]));
  const raw = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, ec.privateKey, message));
  const ecKey = { keytype: "ecdsa", scheme: "ecdsa-sha2-nistp256", public: pem(await crypto.subtle.exportKey("spki", ec.publicKey)) };
  const der = rawToDer(raw, 32);
  assert.ok(await verifySignature(ecKey, toHex(der), message));
  assert.ok(!(await verifySignature(ecKey, toHex(der), utf8("other"))));
  const rsa = /** @type {CryptoKeyPair} */ (await crypto.subtle.generateKey(
    { name: "RSA-PSS", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }, true, ["sign", "verify"]));
  const sig = new Uint8Array(await crypto.subtle.sign({ name: "RSA-PSS", saltLength: 32 }, rsa.privateKey, message));
  const rsaKey = { keytype: "rsa", scheme: "rsassa-pss-sha256", public: pem(await crypto.subtle.exportKey("spki", rsa.publicKey)) };
  assert.ok(await verifySignature(rsaKey, toHex(sig), message));
  sig[10] ^= 1;
  assert.ok(!(await verifySignature(rsaKey, toHex(sig), message)));
  assert.ok(!(await verifySignature(rsaKey, "not hex", message)));
});

test("HTTP: 404 and a page in place of metadata are missing; endless data and foreign redirects refused", async (t) => {
  const server = createServer((req, res) => {
    if (req.url === "/gone") return res.writeHead(404).end();
    if (req.url?.endsWith("timestamp.json")) return res.writeHead(200, { "content-type": "text/html" }).end("<html>app</html>");
    if (req.url === "/big") {
      res.writeHead(200);
      res.write(new Uint8Array(4096));
      return res.end(new Uint8Array(4096));
    }
    if (req.url === "/away") return res.writeHead(302, { location: elsewhere }).end();
    res.writeHead(500).end();
  });
  const other = createServer((_req, res) => res.writeHead(200).end("forged"));
  await new Promise((resolve) => other.listen(0, "127.0.0.1", () => resolve(null)));
  const elsewhere = `http://127.0.0.1:${/** @type {import("node:net").AddressInfo} */ (other.address()).port}/x`;
  await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(null)));
  t.after(() => (server.close(), other.close()));
  const address = /** @type {import("node:net").AddressInfo} */ (server.address());
  const source = new HttpSource(`http://127.0.0.1:${address.port}/`, { timeoutMs: 5000 });
  await assert.rejects(source.fetch("gone", 100), MissingFileError);
  await assert.rejects(source.fetch(".well-known/tamizdat/metadata/timestamp.json", 100), /taken as missing/);
  await assert.rejects(source.fetch("big", 5000), OversizeError);
  await assert.rejects(source.fetch("away", 100), (error) => error instanceof MirrorResponseError && /outside this mirror/.test(error.message));
  await assert.rejects(source.fetch("other", 100), /expected HTTP 200/);
});
