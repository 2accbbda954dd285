/**
 * The worker's fail-over pool (transport/failover.py, for a browser): the sources in order
 * of preference, the next one asked after a short hedge delay or at once when one fails,
 * and **the first answer the caller's check accepts wins** (the losers are cancelled).
 * Invariant: an answer that fails the check never leaves the pool; its source is demoted
 * (asked last from then on) and the refusal is recorded for the reader's status line.
 */
import { MissingFileError, RollbackError, TransportError, UntrustedContentError } from "../errors.js";

/**
 * @typedef {object} Refusal
 * @property {string} source the mirror whose copy was refused
 * @property {string} path
 * @property {boolean} older the copy was authentic but older than one trusted already
 *   (a mirror lagging behind, or replaying an old release): refused, but not altered
 */

/**
 * The most telling failure: a refused copy beats an unreachable mirror beats a missing file.
 * @param {Error[]} errors
 */
const mostTelling = (errors) =>
  errors.find((e) => e instanceof UntrustedContentError) ?? errors.find((e) => !(e instanceof MissingFileError)) ?? errors[0];

export class RacePool {
  /**
   * @param {import("../fetch.js").Source[]} sources in order of preference
   * @param {{hedgeMs: number, quorum?: number, onRefused?: (refusal: Refusal) => void}} options
   *   `quorum`: how many sources `gather` asks for the timestamp (default 3: the origin and
   *   two mirrors), so that one source serving an old timestamp cannot hold readers back
   */
  constructor(sources, options) {
    this.sources = [...sources];
    this.hedgeMs = options.hedgeMs;
    this.quorum = options.quorum ?? 3;
    this.onRefused = options.onRefused ?? (() => {});
    this.name = sources.map((s) => s.name).join(", ");
    /** @type {Refusal[]} */
    this.refusals = [];
    /** @type {Set<string>} sources that let a hedge delay pass without answering */
    this.slow = new Set();
  }

  /**
   * Race the sources for `path`; resolves with the first answer `check` accepts.
   * @template T
   * @param {string} path
   * @param {number} maxLength
   * @param {import("../fetch.js").Check<T>} check
   * @param {{probe?: boolean}} [options] a probe (the next root) ends at the first "missing"
   * @returns {Promise<T>}
   */
  fetchChecked(path, maxLength, check, options = {}) {
    const sources = [...this.sources];
    const stop = new AbortController();
    /** @type {Error[]} */
    const errors = [];
    let next = 0;
    let running = 0;
    let done = false;
    return new Promise((resolve, reject) => {
      /** @param {() => void} settle */
      const finish = (settle) => {
        done = true;
        stop.abort();
        settle();
      };
      const start = () => {
        if (done || next >= sources.length) return;
        const source = sources[next++];
        running++;
        // Not delivered within the hedge delay: ask the next one too, and ask this one last
        // for the rest of this pool's life (a hanging origin costs one delay, not one per file).
        const hedge = setTimeout(() => (this.slowed(source.name), start()), this.hedgeMs);
        const attempt = async () => check(await source.fetch(path, maxLength, stop.signal), `${source.name}: ${path}`);
        attempt().then(
          (value) => {
            clearTimeout(hedge);
            this.slow.delete(source.name);
            running--;
            if (!done) finish(() => resolve(value));
          },
          (error) => {
            clearTimeout(hedge);
            running--;
            if (done) return;
            if (error instanceof UntrustedContentError) this.refused(source.name, path, error);
            else if (!(error instanceof TransportError)) return finish(() => reject(error)); // a bug
            if (options.probe && error instanceof MissingFileError) return finish(() => reject(error));
            errors.push(error);
            if (next < sources.length) start();
            else if (running === 0) finish(() => reject(mostTelling(errors)));
          },
        );
      };
      if (!sources.length) reject(new TransportError(`no source for ${path}`));
      start();
    });
  }

  /**
   * Up to `count` (at least the pool's quorum) answers: the first one, and those of the next
   * preferred sources arriving within a hedge delay of it. The workflow keeps the newest
   * authentic one and refuses the others.
   * @param {string} path
   * @param {number} maxLength
   * @param {number} requested
   * @returns {Promise<[string, Uint8Array][]>}
   */
  async gather(path, maxLength, requested) {
    const count = Math.max(requested, this.quorum);
    /** @type {[string, Uint8Array][]} */
    const answers = [];
    const first = this.fetchChecked(path, maxLength, (data, where) => {
      answers.push([where.slice(0, where.lastIndexOf(`: ${path}`)), data]);
      return data;
    });
    await first;
    if (answers.length < count) {
      // The others were cancelled by the race; ask the next preferred one once more, briefly.
      const asked = (/** @type {string} */ name) => answers.some(([answered]) => answered === name);
      const rest = this.sources.filter((s) => !asked(s.name) && !this.slow.has(s.name)).slice(0, count - answers.length);
      const late = AbortSignal.timeout(this.hedgeMs);
      await Promise.all(rest.map(async (source) => {
        try {
          answers.push([source.name, await source.fetch(path, maxLength, late)]);
        } catch {
          // a slow or failing second opinion changes nothing: the first answer stands
        }
      }));
    }
    return answers;
  }

  /** @param {string} source @param {string} path @param {Error} error */
  refused(source, path, error) {
    const refusal = { source, path, older: error instanceof RollbackError };
    this.refusals.push(refusal);
    this.onRefused(refusal);
    const at = this.sources.findIndex((s) => s.name === source);
    if (at >= 0) this.sources.push(...this.sources.splice(at, 1));
  }

  /** @param {string} source */
  slowed(source) {
    this.slow.add(source);
    const at = this.sources.findIndex((s) => s.name === source);
    if (at >= 0) this.sources.push(...this.sources.splice(at, 1));
  }

  /** @param {string} source */
  prefer(source) {
    const at = this.sources.findIndex((s) => s.name === source);
    if (at > 0) this.sources.unshift(...this.sources.splice(at, 1));
  }
}
