import { test } from "node:test";
import assert from "node:assert/strict";
import {
  BadSignatureError, ClientWorkflow, ExpiredMetadataError, LazyRelease, MemorySource, SourceFetcher,
  UnauthorizedPathError, utf8, verifyRelease,
} from "../src/index.js";
import { makeRelease, newKey } from "../test-support/release.js";

/** A source that counts what was asked of it. */
class CountingSource extends MemorySource {
  /** @type {string[]} */
  asked = [];

  /** @override @param {string} path @param {number} maxLength */
  fetch(path, maxLength) {
    this.asked.push(path);
    return super.fetch(path, maxLength);
  }
}

const now = Date.now();

test("a honest release is current, whole or path by path", async () => {
  const r = await makeRelease({
    files: { "index.html": "home", "news/a/index.html": "a" },
    desks: [{ name: "news", paths: ["news/*/*"] }],
    assign: { "news/a/index.html": "news" },
  });
  const report = await verifyRelease(new MemorySource(r.files), { fingerprint: r.fingerprint, now });
  assert.equal(report.outcome, "current", String(report.problem));
  assert.equal(report.files_checked, 2);
  const lazy = await LazyRelease.open(new MemorySource(r.files), { now, fingerprint: r.fingerprint });
  assert.deepEqual(await lazy.read("news/a/index.html"), utf8("a"));
  assert.equal(await lazy.read("news/b/index.html"), null);
});

test("lazy reading fetches only the roles on the path's search", async () => {
  const r = await makeRelease({
    files: { "a/1": "one", "b/1": "two" },
    desks: [{ name: "desk-a", paths: ["a/*"] }, { name: "desk-b", paths: ["b/*"] }],
    assign: { "a/1": "desk-a", "b/1": "desk-b" },
  });
  const source = new CountingSource(r.files);
  const lazy = await LazyRelease.open(source, { now, fingerprint: r.fingerprint });
  assert.deepEqual(await lazy.read("a/1"), utf8("one"));
  assert.ok(source.asked.some((p) => p.endsWith("1.desk-a.json")));
  assert.ok(!source.asked.some((p) => p.endsWith("1.desk-b.json")), source.asked.join());
});

test("a terminating delegation stops the search", async () => {
  const r = await makeRelease({
    files: { "x/1": "listed by the second desk" },
    desks: [{ name: "first", paths: ["x/*"], terminating: true }, { name: "second", paths: ["x/*"] }],
    assign: { "x/1": "second" },
  });
  const lazy = await LazyRelease.open(new MemorySource(r.files), { now, fingerprint: r.fingerprint });
  assert.equal(await lazy.read("x/1"), null);
  const open = await makeRelease({
    files: { "x/1": "listed by the second desk" },
    desks: [{ name: "first", paths: ["x/*"], terminating: false }, { name: "second", paths: ["x/*"] }],
    assign: { "x/1": "second" },
  });
  const reader = await LazyRelease.open(new MemorySource(open.files), { now, fingerprint: open.fingerprint });
  assert.deepEqual(await reader.read("x/1"), utf8("listed by the second desk"));
});

test("a role two desks delegate is verified against each (the diamond)", async () => {
  const shared = await newKey();
  const r = await makeRelease({
    files: { "m/1": "month" },
    desks: [
      { name: "a", paths: ["m/*"], terminating: false },
      { name: "b", paths: ["m/*"], terminating: false },
      { name: "month", paths: ["m/*"], parent: "a", key: shared },
    ],
    assign: { "m/1": "month" },
  });
  // Desk b delegates the same role name to a key of its own.
  const thief = await newKey();
  const desks = [
    { name: "a", paths: ["m/*"], terminating: false },
    { name: "b", paths: ["m/*"], terminating: false },
    { name: "month", paths: ["m/*"], parent: "a", key: shared },
    { name: "month", paths: ["m/*"], parent: "b", key: thief },
  ];
  const forged = await makeRelease({ files: { "m/1": "month" }, desks, assign: { "m/1": "month" } });
  const honest = await verifyRelease(new MemorySource(r.files), { fingerprint: r.fingerprint, now });
  assert.equal(honest.outcome, "current", String(honest.problem));
  const report = await verifyRelease(new MemorySource(forged.files), { fingerprint: forged.fingerprint, now });
  assert.equal(report.error, BadSignatureError.name);
  assert.match(String(report.where), /delegated by/);
});

test("hash bins: a path counts only in its own bin", async () => {
  const spec = { files: { "p/1": "one", "p/2": "two" }, bins: { parent: "targets", bitLength: 1, prefix: "bin" } };
  const { binFor } = await import("../src/metadata.js");
  const bins = { keyids: [], threshold: 1, bitLength: 1, prefix: "bin" };
  const own = { "p/1": await binFor(bins, "p/1"), "p/2": await binFor(bins, "p/2") };
  const r = await makeRelease({ ...spec, assign: own });
  const report = await verifyRelease(new MemorySource(r.files), { fingerprint: r.fingerprint, now });
  assert.equal(report.outcome, "current", String(report.problem));
  const other = (/** @type {string} */ name) => (name === "bin-0" ? "bin-1" : "bin-0");
  const wrong = await makeRelease({ ...spec, assign: { "p/1": other(own["p/1"]), "p/2": own["p/2"] } });
  const refused = await verifyRelease(new MemorySource(wrong.files), { fingerprint: wrong.fingerprint, now });
  assert.equal(refused.error, UnauthorizedPathError.name);
  const lazy = await LazyRelease.open(new MemorySource(wrong.files), { now, fingerprint: wrong.fingerprint });
  assert.equal(await lazy.read("p/1"), null); // the search looks in p/1's own bin only
});

test("an expired timestamp is stale for readers and an error in strict mode", async () => {
  const r = await makeRelease({ files: { "index.html": "home" }, timestampDays: -1 });
  const report = await verifyRelease(new MemorySource(r.files), { fingerprint: r.fingerprint, now });
  assert.equal(report.outcome, "stale");
  assert.deepEqual(report.stale_roles, ["timestamp"]);
  const strict = new ClientWorkflow(new SourceFetcher(new MemorySource(r.files)), { now, fingerprint: r.fingerprint, allowStale: false });
  await assert.rejects(strict.refresh(), ExpiredMetadataError);
});

test("a path named like an object property is just a name", async () => {
  const r = await makeRelease({ files: { ["__proto__"]: "p", constructor: "c" } });
  const report = await verifyRelease(new MemorySource(r.files), { fingerprint: r.fingerprint, now });
  assert.equal(report.outcome, "current", String(report.problem));
  const lazy = await LazyRelease.open(new MemorySource(r.files), { now, fingerprint: r.fingerprint });
  assert.deepEqual(await lazy.read("__proto__"), utf8("p"));
  assert.equal(await lazy.read("toString"), null);
});

test("the wrong fingerprint is another publisher", async () => {
  const r = await makeRelease({ files: { "index.html": "home" } });
  const report = await verifyRelease(new MemorySource(r.files), { fingerprint: "0".repeat(64), now });
  assert.equal(report.outcome, "not-this-publisher");
});
