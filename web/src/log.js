/**
 * The publication log, read by a verifier (trust/log.py): a hash chain of small immutable
 * entry files under a tiny signed head. Invariant: every entry is fetched by the hash the
 * chain names and must hash to it; entries sit at the index they claim with versions
 * decreasing backwards; a chain is accepted only if it extends the head seen before.
 */
import { LogForkError, MixAndMatchError, OversizeError, RollbackError, TamperedError } from "./errors.js";
import { compareCodePoints, decodeUtf8, sha256Hex } from "./bytes.js";
import { byHashPath, logEntryPath } from "./layout.js";

export const LOG_LIMITS = Object.freeze({ entryMaxBytes: 2 * 4096 + 1024, maxEntries: 1_000_000 });
const HEX64 = /^[0-9a-f]{64}$/;
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const ENTRY_KEYS = "index,paths,previous,snapshot_sha256,time,version";

/** @typedef {{index: number, version: number, time: string, snapshot_sha256: string, previous: string, hash: string}} LogEntry */
/** @typedef {{index: number, hash: string}} LogHead */
/** @typedef {(byHash: string, cap: number) => Promise<Uint8Array>} LogFetch */

/**
 * @param {Uint8Array} data
 * @param {string} where
 * @param {string} what
 * @returns {any}
 */
function json(data, where, what) {
  try {
    return JSON.parse(decodeUtf8(data));
  } catch (error) {
    throw new TamperedError(`expected ${what}, found: ${error instanceof Error ? error.message : error}`, { where });
  }
}

/** @param {unknown} value @returns {value is Record<string, any>} */
const isRecord = (value) => typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * Parse `log.json`.
 * @param {Uint8Array} data
 * @param {string} where
 * @returns {LogHead}
 * @throws {TamperedError} not a tamizdat log head of this spec version
 */
export function parseHead(data, where) {
  const document = json(data, where, "a JSON publication log head");
  if (!isRecord(document) || document.format !== "tamizdat-log") {
    throw new TamperedError("expected a document with format 'tamizdat-log'", { where });
  }
  if (document.spec_version !== 2) {
    throw new TamperedError(`expected log spec_version 2, found ${JSON.stringify(document.spec_version)}`, { where });
  }
  const head = document.head;
  if (!isRecord(head) || Object.keys(head).sort().join() !== "hash,index,path") {
    throw new TamperedError("expected 'head' with keys hash, index, path", { where });
  }
  const { index, hash } = head;
  if (!Number.isSafeInteger(index) || index < -1) {
    throw new TamperedError(`expected a head index of -1 or more, found ${JSON.stringify(index)}`, { where });
  }
  const empty = index === -1;
  if (typeof hash !== "string" || !(empty ? hash === "" : HEX64.test(hash))) {
    throw new TamperedError(`expected a head hash, found ${JSON.stringify(hash)}`, { where });
  }
  if (head.path !== (empty ? "" : logEntryPath(index))) {
    throw new TamperedError(`expected the head path of entry ${index}`, { where });
  }
  return { index, hash };
}

/**
 * @param {unknown} value
 * @param {string} where
 */
function checkPaths(value, where) {
  if (!isRecord(value)) throw new TamperedError("expected path lists with keys ['added', 'changed', 'removed']", { where });
  const keys = Object.keys(value).sort().join();
  if (keys === "counts,length,sha256") {
    const { counts, length, sha256 } = value;
    const ok = Array.isArray(counts) && counts.length === 3 && counts.every((c) => Number.isSafeInteger(c) && c >= 0) &&
      Number.isSafeInteger(length) && length > 4096 && typeof sha256 === "string" && HEX64.test(sha256);
    if (!ok) throw new TamperedError("expected 'paths' to reference a lists file", { where });
    return;
  }
  if (keys !== "added,changed,removed") {
    throw new TamperedError("expected path lists with keys ['added', 'changed', 'removed']", { where });
  }
  for (const key of ["added", "changed", "removed"]) {
    const list = value[key];
    if (!Array.isArray(list) || !list.every((p) => typeof p === "string")) {
      throw new TamperedError(`expected '${key}' to be a list of paths`, { where });
    }
    const sorted = [...new Set(list)].sort(compareCodePoints);
    if (sorted.length !== list.length || sorted.some((p, i) => p !== list[i])) {
      throw new TamperedError(`expected '${key}' sorted without duplicates`, { where });
    }
  }
}

/**
 * @param {unknown} raw
 * @param {string} hash the entry's hash (of its file's bytes)
 * @param {string} where
 * @returns {LogEntry}
 */
function readEntry(raw, hash, where) {
  if (!isRecord(raw) || Object.keys(raw).sort().join() !== ENTRY_KEYS) {
    throw new TamperedError(`expected an entry with keys [${ENTRY_KEYS}]`, { where });
  }
  for (const key of ["index", "version"]) {
    if (!Number.isSafeInteger(raw[key]) || raw[key] < 0) {
      throw new TamperedError(`expected '${key}' to be a non-negative integer`, { where });
    }
  }
  if (typeof raw.time !== "string" || !TIME.test(raw.time)) {
    throw new TamperedError(`expected 'time' as YYYY-MM-DDTHH:MM:SSZ, found ${JSON.stringify(raw.time)}`, { where });
  }
  if (typeof raw.snapshot_sha256 !== "string" || !HEX64.test(raw.snapshot_sha256)) {
    throw new TamperedError("expected 'snapshot_sha256' to be a sha256 hex digest", { where });
  }
  const previous = raw.previous;
  if (typeof previous !== "string" || (previous && !HEX64.test(previous))) {
    throw new TamperedError("expected 'previous' to be a sha256 hex digest or ''", { where });
  }
  if ((raw.index === 0) !== (previous === "")) {
    throw new LogForkError(`expected previous = '' exactly for entry 0, found ${previous || "(empty)"} at index ${raw.index}`, {
      where, hint: "the log's hash chain is broken: history was rewritten",
    });
  }
  checkPaths(raw.paths, where);
  return { index: raw.index, version: raw.version, time: raw.time, snapshot_sha256: raw.snapshot_sha256, previous, hash };
}

/**
 * `data` is the log file the chain names by `sha256`.
 * @param {Uint8Array} data
 * @param {string} sha256
 * @param {string} where
 * @throws {TamperedError}
 */
export async function checkChainFile(data, sha256, where) {
  const digest = await sha256Hex(data);
  if (digest !== sha256) {
    throw new TamperedError(`expected the bytes the log chain names (sha256 ${sha256}), found sha256 ${digest}`, {
      where, hint: "this copy altered the publication log",
    });
  }
  return data;
}

/**
 * Entries `first` … `head.index`, fetched by hash from the head backwards.
 * @param {LogHead} head
 * @param {LogFetch} fetch
 * @param {{first: number, where: string, source: string}} options
 * @returns {Promise<LogEntry[]>} oldest first
 * @throws {TamperedError | LogForkError | OversizeError}
 */
export async function fetchChain(head, fetch, { first, where, source }) {
  if (head.index < 0) return [];
  first = Math.max(0, Math.min(first, head.index));
  if (head.index - first + 1 > LOG_LIMITS.maxEntries) {
    throw new OversizeError(`expected at most ${LOG_LIMITS.maxEntries} log entries to check, found ${head.index - first + 1}`, { where });
  }
  /** @type {LogEntry[]} */
  const entries = [];
  let expected = head.hash;
  for (let index = head.index; index >= first; index--) {
    const path = byHashPath(logEntryPath(index), expected);
    const location = source ? `${source}: ${path}` : path;
    const data = await checkChainFile(await fetch(path, LOG_LIMITS.entryMaxBytes), expected, location);
    const entry = readEntry(json(data, location, "a JSON log entry"), expected, location);
    if (entry.index !== index) throw new LogForkError(`expected index ${index}, found ${entry.index}`, { where: location });
    const last = entries[entries.length - 1];
    if (last && entry.version >= last.version) {
      throw new LogForkError(`expected a version below ${last.version}, found ${entry.version}`, { where: `${where}: ${logEntryPath(index)}` });
    }
    entries.push(entry);
    expected = entry.previous;
  }
  return entries.reverse();
}

/**
 * Whether `entries` hold entry `index` with hash `hash`, or link to it.
 * @param {LogEntry[]} entries
 * @param {number} index
 * @param {string} hash
 */
function extendsHead(entries, index, hash) {
  if (index === -1) return hash === "";
  if (!entries.length) return false;
  const first = entries[0].index;
  if (index === first - 1) return entries[0].previous === hash;
  if (index < first || index > entries[entries.length - 1].index) return false;
  return entries[index - first].hash === hash;
}

/**
 * Step 10: the head seen before is not lost (rollback) nor rewritten (fork), and the head
 * entry belongs to this snapshot. Fetches only entries after the seen head.
 * @param {LogHead} head
 * @param {LogFetch} fetch
 * @param {{seen: [number, string] | null, where: string, source: string, snapshotVersion: number, snapshotSha256: string}} options
 * @returns {Promise<LogEntry[]>}
 * @throws {RollbackError | LogForkError | MixAndMatchError | TamperedError | OversizeError}
 */
export async function checkLog(head, fetch, { seen, where, source, snapshotVersion, snapshotSha256 }) {
  if (seen && head.index < seen[0]) {
    throw new RollbackError(`expected a publication log of at least ${seen[0] + 1} entries (seen on this machine), found ${head.index + 1}`, { where });
  }
  const first = seen ? seen[0] + 1 : head.index;
  const entries = await fetchChain(head, fetch, { first, where, source });
  if (seen && !extendsHead(entries, seen[0], seen[1])) {
    throw new LogForkError(`expected the log to extend entry ${seen[0]} with hash ${seen[1]}, found a log that does not`, {
      where, hint: "this copy rewrites the publisher's history; do not trust it",
    });
  }
  const last = entries[entries.length - 1];
  if (last && last.version > snapshotVersion) {
    throw new MixAndMatchError(`expected a log ending at release ${snapshotVersion} or before, found release ${last.version}`, { where });
  }
  if (last && last.version === snapshotVersion && last.snapshot_sha256 !== snapshotSha256) {
    throw new LogForkError(`expected log entry ${last.index} to name snapshot sha256 ${snapshotSha256}, found ${last.snapshot_sha256}`, { where });
  }
  return entries;
}

/**
 * The log entry of exactly this release (its time is the release's signing time), or null.
 * @param {LogEntry[]} entries
 * @param {number} version
 * @param {string} snapshotSha256
 */
export function releaseEntry(entries, version, snapshotSha256) {
  return [...entries].reverse().find((e) => e.version === version && e.snapshot_sha256 === snapshotSha256) ?? null;
}
