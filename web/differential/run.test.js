/**
 * The differential test: the JavaScript verifier on every release Python exported
 * (tests/web/js_fixtures.py), asserting Python's verdict. Run through pytest
 * (tests/web/test_js_differential.py), which sets TAMIZDAT_FIXTURES.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile, readdir } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { pathToFileURL } from "node:url";

const root = process.env.TAMIZDAT_FIXTURES;
// The sources by default; pytest points this at the shipped bundle, so that is what agrees.
const module = process.env.TAMIZDAT_VERIFIER ? pathToFileURL(process.env.TAMIZDAT_VERIFIER).href : "../src/index.js";
/** @type {typeof import("../src/index.js")} */
const { LIMITS, MemorySource, canonicalBytes, fnmatch, sha256Hex, utf8, verifyRelease } = await import(module);

/** @param {string} dir @returns {Promise<Map<string, Uint8Array>>} */
async function readTree(dir) {
  const files = new Map();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = join(entry.parentPath, entry.name);
    files.set(relative(dir, full).split(sep).join("/"), new Uint8Array(await readFile(full)));
  }
  return files;
}

if (!root) {
  test("differential fixtures", (t) => t.skip("run through pytest: tests/web/test_js_differential.py"));
} else {
  const cases = JSON.parse(await readFile(join(root, "cases.json"), "utf8"));
  for (const c of cases) {
    test(c.name, async () => {
      const files = await readTree(join(root, c.name, "files"));
      const report = await verifyRelease(new MemorySource(files, "mirror-A"), {
        fingerprint: c.fingerprint,
        now: Date.parse(c.now),
        seen: c.seen ?? undefined,
        check: c.check,
        natural: true,
        limits: { ...LIMITS, ...c.limits },
      });
      const expected = c.expected;
      const found = { outcome: report.outcome, error: report.error };
      assert.deepEqual(found, { outcome: expected.outcome, error: expected.error }, `${report.where}: ${report.problem}`);
      if (expected.error) return;
      assert.equal(report.version, expected.version);
      assert.equal(report.published, expected.published);
      assert.deepEqual(report.stale_roles, expected.stale_roles);
      assert.deepEqual(report.log_head, expected.log_head);
      assert.deepEqual(report.seen, expected.seen);
    });
  }

  const vectors = JSON.parse(await readFile(join(root, "vectors.json"), "utf8"));
  test("canonical JSON of every metadata file equals securesystemslib's", async () => {
    const names = Object.keys(vectors.canonical);
    assert.ok(names.length > 50);
    for (const name of names) {
      const [folder, file] = name.split("/");
      const data = await readFile(join(root, folder, "files", ".well-known/tamizdat/metadata", file), "utf8");
      /** @type {unknown} */
      const signed = JSON.parse(data).signed;
      assert.equal(await sha256Hex(canonicalBytes(signed)), vectors.canonical[name], name);
    }
  });
  test("canonical JSON of tricky values equals securesystemslib's", () => {
    for (const { value, canonical } of vectors.strings) {
      assert.deepEqual(canonicalBytes(value), utf8(canonical));
    }
  });
  test("fnmatch answers as Python's fnmatchcase", () => {
    for (const [name, pattern, expected] of vectors.fnmatch) {
      assert.equal(fnmatch(name, pattern), expected, `${JSON.stringify(name)} ~ ${JSON.stringify(pattern)}`);
    }
  });
}
