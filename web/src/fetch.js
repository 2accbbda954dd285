/**
 * How the verifier gets bytes (transport/fetch.py and sources.py): a `Source` answers one
 * path with at most `maxLength` bytes; a `Fetcher` returns the first answer a caller's
 * check accepts. Transport never decides what bytes are worth, only whom to ask.
 * Invariant: a source raises only MissingFileError (not there), OversizeError (longer
 * than allowed) or TransportError; an HTTP answer that is no metadata where metadata was
 * asked for is *missing* (a host's page in place of a file it lacks), never a forgery.
 */
import { MirrorResponseError, MissingFileError, OversizeError, TransportError } from "./errors.js";
import { decodeUtf8 } from "./bytes.js";
import { METADATA_DIR } from "./layout.js";

/**
 * @typedef {object} Source
 * @property {string} name for messages
 * @property {boolean} remote
 * @property {(path: string, maxLength: number, signal?: AbortSignal) => Promise<Uint8Array>} fetch
 */

/**
 * @template T
 * @typedef {(data: Uint8Array, where: string) => Promise<T> | T} Check
 */

/**
 * @typedef {object} Fetcher
 * @property {string} name
 * @property {<T>(path: string, maxLength: number, check: Check<T>, options?: {probe?: boolean}) => Promise<T>} fetchChecked
 * @property {(path: string, maxLength: number, count: number) => Promise<[string, Uint8Array][]>} gather
 * @property {(source: string, path: string, error: Error) => void} refused
 * @property {(source: string) => void} prefer
 */

/** @param {string} path @param {number} maxLength @param {string} where */
const oversize = (path, maxLength, where) => new OversizeError(`expected at most ${maxLength} bytes for ${path}, found more`, { where });

/** Files held in memory (tests, a bundle read by the page, the worker's cache). */
export class MemorySource {
  /**
   * @param {Map<string, Uint8Array>} files by layout path
   * @param {string} [name]
   */
  constructor(files, name = "memory") {
    this.files = files;
    this.name = name;
    this.remote = false;
  }

  /** @param {string} path @param {number} maxLength */
  async fetch(path, maxLength) {
    const data = this.files.get(path);
    if (!data) throw new MissingFileError(`no file ${path}`, { where: this.name });
    if (data.length > maxLength) throw oversize(path, maxLength, this.name);
    return data;
  }
}

/** The metadata type a file name calls for, or null for a path that is no metadata file. */
/** @param {string} path */
function expectedType(path) {
  if (!path.startsWith(`${METADATA_DIR}/`) || !path.endsWith(".json")) return null;
  const name = path.slice(METADATA_DIR.length + 1);
  if (/^\d+\.root\.json$/.test(name) || name === "root.json") return "root";
  if (name === "timestamp.json") return "timestamp";
  if (/^\d+\.snapshot\.json$/.test(name) || name === "snapshot.json") return "snapshot";
  return "targets";
}

/**
 * Missing or forged, decided by the bytes (`check_metadata_shape`).
 * @param {string} path
 * @param {Uint8Array} data
 * @param {string} where
 * @throws {MissingFileError} bytes that are not metadata of the type the name calls for
 */
export function checkMetadataShape(path, data, where) {
  const expected = expectedType(path);
  if (!expected) return;
  let document = null;
  try {
    document = JSON.parse(decodeUtf8(data));
  } catch {
    // not JSON
  }
  const signed = document && typeof document === "object" ? document.signed : null;
  const found = signed && typeof signed === "object" ? signed._type : null;
  if (found === expected && Array.isArray(document.signatures)) return;
  throw new MissingFileError(
    `expected ${expected} metadata for ${path}, found ${typeof found === "string" ? `${found} metadata` : "no metadata"}; taken as missing (a page served in place of a file the mirror does not have)`,
    { where },
  );
}

/**
 * The body of `response`, read as it streams, never more than `maxLength` bytes.
 * @param {Response} response
 * @param {number} maxLength
 * @param {string} path
 * @param {string} where
 * @param {() => void} [progress] called at every chunk (the stall watchdog's heartbeat)
 */
async function readCapped(response, maxLength, path, where, progress = () => {}) {
  const declared = Number(response.headers.get("content-length") ?? NaN);
  if (declared > maxLength) throw oversize(path, maxLength, where);
  if (!response.body) return new Uint8Array(0);
  const reader = response.body.getReader();
  /** @type {Uint8Array[]} */
  const chunks = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    progress();
    total += value.length;
    if (total > maxLength) {
      await reader.cancel();
      throw oversize(path, maxLength, where);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) (out.set(chunk, at), (at += chunk.length));
  return out;
}

/** One HTTP(S) mirror, through the platform's `fetch` (a page, a worker, Node). */
export class HttpSource {
  /**
   * @param {string} baseUrl the mirror's root (a trailing slash is added)
   * @param {{timeoutMs?: number, stallMs?: number, fetch?: typeof fetch, name?: string}} [options]
   *   `stallMs`: abandon an answer that makes no progress (no headers, no next chunk) for
   *   this long: censors freeze connections mid-file, and a frozen answer must not hold
   *   the reader while another mirror could deliver.
   */
  constructor(baseUrl, options = {}) {
    this.base = new URL(baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`);
    this.name = options.name ?? this.base.href;
    this.remote = true;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.stallMs = options.stallMs ?? 0;
    this.fetcher = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  /**
   * The bytes at `url` (absolute, or relative to the base).
   * @param {string} url
   * @param {number} maxLength
   * @param {string} [path] the layout path, for messages and the metadata shape rule
   * @param {AbortSignal} [signal] the caller gives up (another mirror delivered)
   */
  async fetchUrl(url, maxLength, path = url, signal) {
    const target = new URL(url, this.base);
    const stall = new AbortController();
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    let timer;
    const progress = () => {
      clearTimeout(timer);
      if (this.stallMs) timer = setTimeout(() => stall.abort(new Error(`stalled: no progress for ${this.stallMs} ms`)), this.stallMs);
    };
    const signals = [AbortSignal.timeout(this.timeoutMs), stall.signal, ...(signal ? [signal] : [])];
    progress();
    try {
      return await this.fetchSignalled(target, maxLength, path, AbortSignal.any(signals), progress);
    } catch (error) {
      if (stall.signal.aborted && !(error instanceof MissingFileError)) {
        throw new TransportError(`abandoned ${path}: ${stall.signal.reason.message}`, { where: target.href });
      }
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * @param {URL} target
   * @param {number} maxLength
   * @param {string} path
   * @param {AbortSignal} signal
   * @param {() => void} progress
   */
  async fetchSignalled(target, maxLength, path, signal, progress) {
    let response;
    try {
      response = await this.fetcher(target.href, { redirect: "follow", signal, cache: "no-store" });
    } catch (error) {
      throw new TransportError(`cannot fetch ${path}: ${error instanceof Error ? error.message : error}`, { where: target.href });
    }
    progress();
    const where = response.url || target.href;
    if (new URL(where).origin !== this.base.origin) {
      await response.body?.cancel();
      throw new MirrorResponseError(`refused a redirect of ${target.href} to ${where}: outside this mirror`, { where: target.href });
    }
    if ([403, 404, 410].includes(response.status)) {
      await response.body?.cancel();
      throw new MissingFileError(`no file ${path} (HTTP ${response.status})`, { where });
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new MirrorResponseError(`expected HTTP 200 for ${path}, found ${response.status}`, { where });
    }
    try {
      const data = await readCapped(response, maxLength, path, where, progress);
      checkMetadataShape(path, data, where);
      return data;
    } catch (error) {
      if (error instanceof MissingFileError || error instanceof OversizeError) throw error;
      throw new TransportError(`reading ${path} failed: ${error instanceof Error ? error.message : error}`, { where });
    }
  }

  /** @param {string} path @param {number} maxLength @param {AbortSignal} [signal] */
  fetch(path, maxLength, signal) {
    return this.fetchUrl(path.split("/").map(encodeURIComponent).join("/"), maxLength, path, signal);
  }
}

/** One source as a Fetcher: its answer is checked once, never re-asked. */
export class SourceFetcher {
  /** @param {Source} source */
  constructor(source) {
    this.source = source;
    this.name = source.name;
  }

  /**
   * @template T
   * @param {string} path
   * @param {number} maxLength
   * @param {Check<T>} check
   * @returns {Promise<T>}
   */
  async fetchChecked(path, maxLength, check) {
    let data;
    try {
      data = await this.source.fetch(path, maxLength);
    } catch (error) {
      // A local source's failure to deliver a file means it does not hold it.
      if (error instanceof MirrorResponseError && !(error instanceof MissingFileError) && !this.source.remote) {
        throw new MissingFileError(error.problem, { where: error.where });
      }
      throw error;
    }
    return check(data, `${this.name}: ${path}`);
  }

  /** @param {string} path @param {number} maxLength @returns {Promise<[string, Uint8Array][]>} */
  async gather(path, maxLength) {
    return [[this.name, await this.fetchChecked(path, maxLength, (d) => d)]];
  }

  refused() {}

  prefer() {}
}
