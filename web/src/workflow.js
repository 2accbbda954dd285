/**
 * The TUF client workflow, written once (trust/verify/workflow.py): which file to ask for
 * next, from where, with which cap (docs/verification-policy.md steps 1–10); the policy
 * alone decides what the bytes are worth. Two ways to use it:
 * - whole release (`refresh` + `loadAllRoles` in release.js): every delegation edge verified, every
 *   listed path authorised: `verify`, the differential test, a full check;
 * - lazy, per path (`refresh` + `resolve(path)`): only the roles the depth-first search for
 *   that path crosses are fetched and verified: the service worker, the conformance client.
 * Invariant: nothing read through a kept copy is believed because of where it came from;
 * it goes through the same checks, and a kept file that fails is fetched again.
 */
import {
  MissingFileError, NotThisPublisherError, OversizeError, TamperedError, TransportError, UntrustedContentError,
} from "./errors.js";
import { LIMITS, TrustPolicy } from "./policy.js";
import { LOG_JSON, byHashPath, metadataPath } from "./layout.js";
import { matchesLengthAndHashes, sha256Hex } from "./bytes.js";
import { checkChainFile, checkLog, parseHead } from "./log.js";

/**
 * Metadata and objects verified on an earlier run, read before the network.
 * @typedef {object} TrustedCopy
 * @property {string} name
 * @property {(role: string, version: number | null) => Promise<Uint8Array | null>} metadata
 * @property {(role: string) => Promise<Uint8Array | null>} latest
 * @property {(byHash: string) => Promise<Uint8Array | null>} object
 * @property {(role: string, version: number | null, data: Uint8Array) => Promise<void>} keep
 */

/** @type {TrustedCopy} */
export const NO_COPY = {
  name: "no kept copy",
  metadata: async () => null,
  latest: async () => null,
  object: async () => null,
  keep: async () => {},
};

/**
 * @typedef {object} WorkflowOptions
 * @property {number} now milliseconds since the epoch
 * @property {string | null} [fingerprint] SHA-256 of 1.root.json (null: trust on first use)
 * @property {Uint8Array | null} [trustedRoot] start from this root instead (conformance)
 * @property {import("./rollback.js").SeenVersions} [seen]
 * @property {import("./policy.js").Limits} [limits]
 * @property {boolean} [allowStale]
 * @property {TrustedCopy} [copy]
 */

/** @param {unknown} error */
const untrusted = (error) => {
  if (error instanceof UntrustedContentError) return error;
  throw error;
};

export class ClientWorkflow {
  /**
   * @param {import("./fetch.js").Fetcher} fetcher
   * @param {WorkflowOptions} options
   */
  constructor(fetcher, options) {
    this.fetcher = fetcher;
    this.options = options;
    this.fingerprint = options.fingerprint ?? null;
    this.limits = options.limits ?? LIMITS;
    this.copy = options.copy ?? NO_COPY;
    /** @type {Map<string, Uint8Array>} every verified metadata file by its versioned name */
    this.metadata = new Map();
    /** @type {string | null} */
    this.timestampSource = null;
    /** @type {Map<string, string>} where each verified target file came from */
    this.origins = new Map();
    /** @type {TrustPolicy | null} */
    this.trust = null;
    /** @type {Uint8Array} */
    this.snapshotBytes = new Uint8Array(0);
  }

  get policy() {
    if (!this.trust) throw new TransportError("the workflow has not loaded a root yet");
    return this.trust;
  }

  /** @param {Uint8Array} data */
  newPolicy(data) {
    const { now, allowStale, seen } = this.options;
    return TrustPolicy.create(data, { now, allowStale, seen, limits: this.limits });
  }

  /**
   * @param {Uint8Array} data
   * @param {string} where
   */
  async pinned(data, where) {
    const found = await sha256Hex(data);
    if (this.fingerprint != null && found !== this.fingerprint) {
      throw new NotThisPublisherError(`expected the root with fingerprint ${this.fingerprint}, found ${found}`, {
        where, hint: "this copy was signed by someone else (or the fingerprint was mistyped)",
      });
    }
    await this.newPolicy(data);
    return data;
  }

  /**
   * Steps 1–2: the pinned root, then N+1, N+2 … (kept copies first, then fetched).
   * @throws {NotThisPublisherError | OversizeError | import("./errors.js").BadSignatureError | import("./errors.js").RollbackError | TamperedError | TransportError}
   */
  async loadRoot() {
    let policy;
    if (this.options.trustedRoot) {
      policy = await this.newPolicy(this.options.trustedRoot);
    } else {
      const path = metadataPath("root", 1);
      const kept = await this.copy.metadata("root", 1);
      let first = null;
      if (kept) first = await this.pinned(kept, `${this.copy.name}: ${path}`).catch((e) => (untrusted(e), null));
      first ??= await this.fetcher.fetchChecked(path, this.limits.rootMaxBytes, (d, w) => this.pinned(d, w));
      this.metadata.set("1.root.json", first);
      this.fingerprint ??= await sha256Hex(first);
      policy = await this.newPolicy(first);
    }
    this.trust = policy;
    let fetched = 0;
    for (;;) {
      const version = policy.root.version + 1;
      const name = `${version}.root.json`;
      const kept = await this.copy.metadata("root", version);
      if (kept) {
        try {
          await policy.updateRoot(kept, `${this.copy.name}: ${name}`);
          this.metadata.set(name, kept);
          continue;
        } catch (error) {
          untrusted(error);
        }
      }
      let data;
      try {
        data = await this.fetcher.fetchChecked(metadataPath("root", version), this.limits.rootMaxBytes, async (d, where) => {
          if (fetched >= this.limits.maxRootRotations) {
            throw new OversizeError(`expected at most ${this.limits.maxRootRotations} root rotations in one update, found more`, {
              where, hint: "a verified copy of a newer root (a store or bundle) shortens the chain",
            });
          }
          await policy.updateRoot(d, where);
          return d;
        }, { probe: true });
      } catch (error) {
        if (error instanceof MissingFileError) return policy;
        throw error;
      }
      fetched++;
      this.metadata.set(name, data);
      await this.copy.keep("root", version, data);
    }
  }

  /**
   * Step 4: ask up to `quorum` sources, keep the newest authentic timestamp (a kept one
   * is loaded first, as a rollback floor).
   * @param {number} [quorum]
   */
  async updateTimestamp(quorum = 1) {
    const policy = this.policy;
    const path = metadataPath("timestamp", null);
    const kept = await this.copy.latest("timestamp");
    if (kept) {
      try {
        await policy.updateTimestamp(kept, `${this.copy.name}: ${path}`);
        this.metadata.set("timestamp.json", kept);
      } catch (error) {
        untrusted(error);
      }
    }
    const answers = await this.fetcher.gather(path, this.limits.timestampMaxBytes, quorum);
    /** @type {UntrustedContentError[]} */
    const errors = [];
    let newer = false;
    for (const [source, data] of answers) {
      try {
        if (await policy.updateTimestamp(data, `${source}: ${path}`)) {
          this.metadata.set("timestamp.json", data);
          this.timestampSource = source;
          newer = true;
        }
        this.timestampSource ??= source;
      } catch (error) {
        errors.push(untrusted(error));
        this.fetcher.refused(source, path, /** @type {Error} */ (error));
      }
    }
    if (this.timestampSource == null) {
      if (errors.length) throw errors[errors.length - 1];
      throw new TransportError(`expected ${path} from at least one source, got none`, {
        where: this.fetcher.name, hint: "add more mirrors, import a bundle, or try again later",
      });
    }
    this.fetcher.prefer(this.timestampSource);
    if (newer) await this.copy.keep("timestamp", null, /** @type {Uint8Array} */ (this.metadata.get("timestamp.json")));
  }

  /** Step 5: the snapshot the timestamp names (a kept copy first, as a floor). */
  async updateSnapshot() {
    const policy = this.policy;
    const meta = policy.timestamp.snapshotMeta;
    const version = policy.root.consistentSnapshot ? meta.version : null;
    const name = `${meta.version}.snapshot.json`;
    const kept = await this.copy.latest("snapshot");
    if (kept) {
      try {
        await policy.updateSnapshot(kept, { where: `${this.copy.name}: ${name}`, trusted: true });
        this.snapshotBytes = kept;
        this.metadata.set(name, kept);
        return;
      } catch (error) {
        untrusted(error);
      }
    }
    const cap = Math.min(meta.length || this.limits.snapshotMaxBytes, this.limits.snapshotMaxBytes);
    const data = await this.fetcher.fetchChecked(metadataPath("snapshot", version), cap, async (d, where) => {
      await policy.updateSnapshot(d, { where });
      return d;
    });
    this.snapshotBytes = data;
    this.metadata.set(name, data);
    await this.copy.keep("snapshot", version, data);
  }

  /** Steps 1–5 and the top-level targets: what every later question starts from. */
  async refresh(quorum = 1) {
    const policy = await this.loadRoot();
    await this.updateTimestamp(quorum);
    await this.updateSnapshot();
    await this.loadDelegation("targets", "root");
    return policy;
  }

  /**
   * Step 6 for one edge: fetch and verify `role` the first time it is reached, check it
   * against `delegator`'s keys every further time.
   * @param {string} role
   * @param {string} delegator
   */
  async loadDelegation(role, delegator) {
    const policy = this.policy;
    if (policy.tree.roles.has(role)) return policy.trustDelegation(role, delegator);
    const meta = policy.roleMeta(role, delegator);
    const version = policy.root.consistentSnapshot ? meta.version : null;
    const name = `${meta.version}.${role}.json`;
    const kept = await this.copy.metadata(role, version);
    if (kept) {
      try {
        await policy.updateDelegatedTargets(kept, role, delegator, `${this.copy.name}: ${name}`);
        this.metadata.set(name, kept);
        return;
      } catch (error) {
        untrusted(error);
      }
    }
    const cap = Math.min(meta.length || this.limits.targetsMaxBytes, this.limits.targetsMaxBytes);
    const data = await this.fetcher.fetchChecked(metadataPath(role, version), cap, async (d, where) => {
      await policy.updateDelegatedTargets(d, role, delegator, where);
      return d;
    });
    this.metadata.set(name, data);
    await this.copy.keep(role, version, data);
  }

  /**
   * Step 8 for one path: the depth-first search, loading only the edges it crosses.
   * @param {string} path
   */
  resolve(path) {
    return this.policy.tree.resolve(path, (role, delegator) => this.loadDelegation(role, delegator));
  }

  /**
   * Step 9: the by-hash object of `path` (and, with `natural`, its natural-path copy),
   * exactly the signed length and every signed hash. `location` overrides where it is.
   * @param {string} path
   * @param {import("./metadata.js").TargetFile} info
   * @param {{natural?: boolean, location?: string}} [options]
   * @throws {TamperedError} missing everywhere, or length/hash differ
   * @throws {OversizeError} more than the signed length
   */
  async fetchTarget(path, info, options = {}) {
    let location = options.location;
    if (location == null) {
      const sha = info.hashes.sha256;
      if (!sha) throw new TamperedError(`${path} is signed without a sha256 hash`, { where: this.fetcher.name });
      location = byHashPath(path, sha);
    }
    const kept = await this.copy.object(location);
    if (kept && (await matchesLengthAndHashes(kept, info.length, info.hashes))) {
      if (!this.origins.has(location)) this.origins.set(location, `${this.copy.name}: ${location}`);
      return kept;
    }
    const data = await this.fetchSigned(path, location, info);
    if (options.natural) await this.fetchSigned(path, path, info);
    return data;
  }

  /**
   * @param {string} path
   * @param {string} location
   * @param {import("./metadata.js").TargetFile} info
   */
  async fetchSigned(path, location, info) {
    try {
      return await this.fetcher.fetchChecked(location, info.length, async (data, where) => {
        if (!(await matchesLengthAndHashes(data, info.length, info.hashes))) {
          throw new TamperedError(
            `${path} differs from the signed copy: expected ${info.length} bytes with sha256 ${info.hashes.sha256 ?? "?"}, found ${data.length} bytes with sha256 ${await sha256Hex(data)}`,
            { where },
          );
        }
        this.origins.set(location, where);
        return data;
      });
    } catch (error) {
      const where = error instanceof MissingFileError || error instanceof OversizeError ? at(error.where ?? this.fetcher.name, location) : null;
      if (error instanceof MissingFileError) throw new TamperedError(`${path}: the signed file is missing from the source`, { where });
      if (error instanceof OversizeError) throw new OversizeError(`${path}: expected the signed ${info.length} bytes, found more (endless data)`, { where });
      throw error;
    }
  }

  /**
   * Step 10: the log extends the head seen before and its head entry names this snapshot.
   * @param {Uint8Array} headBytes the verified bytes of log.json
   * @returns {Promise<import("./log.js").LogEntry[]>}
   */
  async checkLog(headBytes) {
    const headPath = byHashPath(LOG_JSON, await sha256Hex(headBytes));
    const where = this.origins.get(headPath) ?? `${this.fetcher.name}: ${LOG_JSON}`;
    const head = parseHead(headBytes, where);
    return checkLog(head, (byHash, cap) => this.logFile(byHash, cap), {
      seen: this.options.seen?.log_head ?? null,
      where,
      source: this.fetcher.name,
      snapshotVersion: this.policy.snapshot.version,
      snapshotSha256: await sha256Hex(this.snapshotBytes),
    });
  }

  /** @param {string} byHash @param {number} cap */
  async logFile(byHash, cap) {
    const expected = /** @type {string} */ (byHash.slice(byHash.lastIndexOf("/") + 1).split(".")[0]);
    const kept = await this.copy.object(byHash);
    if (kept && kept.length <= cap && (await sha256Hex(kept)) === expected) return kept;
    try {
      return await this.fetcher.fetchChecked(byHash, cap, (data, where) => checkChainFile(data, expected, where));
    } catch (error) {
      if (error instanceof MissingFileError) {
        throw new TamperedError("expected this publication-log file, found none", { where: `${this.fetcher.name}: ${byHash}` });
      }
      throw error;
    }
  }
}

/** `where` naming `location` too (an HTTP source's `where` is the URL already). */
/** @param {string} where @param {string} location */
const at = (where, location) => (where.includes(location) ? where : `${where}: ${location}`);
