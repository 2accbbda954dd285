#!/usr/bin/env node
/**
 * A tuf-conformance client over the JavaScript verifier, in strict mode: the same
 * ClientWorkflow the browser runs (trust/verify/conformance.py is its Python twin).
 * Speaks theupdateframework/tuf-conformance CLIENT-CLI:
 *
 *   tamizdat-conformance.js --metadata-dir D init TRUSTED_ROOT
 *   tamizdat-conformance.js --metadata-dir D --metadata-url U refresh
 *   tamizdat-conformance.js --metadata-dir D --metadata-url U --target-name P
 *       [--target-name P2 …] --target-base-url B --target-dir T download
 *
 * Targets are processed in order by one client, which stops at the first failure. Exit 0
 * on success, 1 on any failure. Invariant: METADATA_DIR holds only metadata that verified
 * (expiry enforced), under non-versioned names, each written atomically.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ClientWorkflow, HttpSource, LIMITS, SourceFetcher, TamizdatError, TamperedError, layout } from "../src/index.js";
import { matchesLengthAndHashes } from "../src/bytes.js";

/** Python's `quote(text, "")`: every byte but letters, digits and `_.-~` escaped. */
/** @param {string} text */
const quoteAll = (text) => encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** @param {string} file @param {Uint8Array} data */
async function writeAtomic(file, data) {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}

/** @param {string} file */
async function readOrNull(file) {
  try {
    return new Uint8Array(await readFile(file));
  } catch {
    return null;
  }
}

/**
 * METADATA_DIR: the last trusted `<role>.json` of each role.
 * @param {string} dir
 * @returns {import("../src/workflow.js").TrustedCopy}
 */
function metadataDir(dir) {
  /** @param {string} role */
  const file = (role) => join(dir, `${quoteAll(role)}.json`);
  return {
    name: dir,
    // root.json starts the chain; it is not one of its links
    metadata: async (role) => (role === "root" ? null : readOrNull(file(role))),
    latest: async (role) => readOrNull(file(role)),
    object: async () => null,
    keep: async (role, _version, data) => writeAtomic(file(role), data),
  };
}

/**
 * The suite's repository: metadata directly under METADATA_URL, targets by absolute URL.
 * @param {HttpSource} http
 * @returns {import("../src/fetch.js").Source}
 */
function repository(http) {
  return {
    name: http.name,
    remote: true,
    fetch(path, maxLength) {
      if (!path.startsWith(`${layout.METADATA_DIR}/`)) return http.fetchUrl(path, maxLength);
      const name = path.slice(layout.METADATA_DIR.length + 1);
      const match = /^(\d+)\.(.*)\.json$/.exec(name);
      const url = match ? `${match[1]}.${quoteAll(match[2])}.json` : `${quoteAll(name.slice(0, -5))}.json`;
      return http.fetchUrl(url, maxLength, path);
    },
  };
}

/** @param {string[]} argv */
async function run(argv) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      "metadata-dir": { type: "string" },
      "metadata-url": { type: "string" },
      "target-name": { type: "string", multiple: true },
      "target-base-url": { type: "string" },
      "target-dir": { type: "string" },
      "days-in-future": { type: "string" },
      "max-root-rotations": { type: "string" },
    },
  });
  const [command, trustedRoot] = positionals;
  const dir = values["metadata-dir"];
  if (!dir) throw new TamizdatError("--metadata-dir is required");
  if (command === "init") {
    if (!trustedRoot) throw new TamizdatError("init needs TRUSTED_ROOT");
    await mkdir(dir, { recursive: true });
    await writeAtomic(join(dir, "root.json"), new Uint8Array(await readFile(trustedRoot)));
    return;
  }
  if (command !== "refresh" && command !== "download") throw new TamizdatError(`unknown command ${command}`);
  const url = values["metadata-url"];
  if (!url) throw new TamizdatError("--metadata-url is required", { where: command });
  const copy = metadataDir(dir);
  const root = await copy.latest("root");
  if (!root) throw new TamizdatError("no trusted root.json: run init first", { where: dir });
  const days = Number(values["days-in-future"] ?? 0);
  const limits = { ...LIMITS, maxRootRotations: Number(values["max-root-rotations"] ?? LIMITS.maxRootRotations) };
  const http = new HttpSource(url, { name: url });
  const workflow = new ClientWorkflow(new SourceFetcher(repository(http)), {
    now: Date.now() + days * 86_400_000, trustedRoot: root, limits, allowStale: false, copy,
  });
  await workflow.refresh();
  if (command === "refresh") return;
  const base = values["target-base-url"];
  const targetDir = values["target-dir"];
  const names = values["target-name"] ?? [];
  if (!names.length || !base || !targetDir) throw new TamizdatError("download needs --target-name, --target-base-url, --target-dir");
  for (const target of names) {
    const found = await workflow.resolve(target);
    if (!found) throw new TamperedError(`${target} is not a signed target`, { where: url });
    const info = found[1];
    const file = join(targetDir, quoteAll(target));
    const cached = await readOrNull(file);
    if (cached && (await matchesLengthAndHashes(cached, info.length, info.hashes))) continue;
    const slash = target.lastIndexOf("/");
    let name = target.slice(slash + 1);
    if (workflow.policy.root.consistentSnapshot) name = `${Object.values(info.hashes)[0]}.${name}`;
    const relative = `${target.slice(0, slash + 1)}${name}`.split("/").map(quoteAll).join("/");
    const location = new URL(relative, base.endsWith("/") ? base : `${base}/`).href;
    await writeAtomic(file, await workflow.fetchTarget(target, info, { location }));
  }
}

try {
  await run(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`error: ${error instanceof Error ? error.message : error}\n`);
  process.exitCode = 1;
}
