/**
 * The verification policy: TUF's client workflow over bytes, with expiry as a label
 * (trust/verify/policy.py). Invariant: nothing leaves this class as trusted unless it
 * chains, through threshold signatures, to the pinned root (TUF §5.3–5.7); it does no I/O
 * and enforces the load order root → timestamp → snapshot → targets → delegated targets.
 * With `allowStale` (readers) an expired role is recorded in `stale` instead of raising;
 * without it (the conformance client) expiry raises ExpiredMetadataError. Rollback is
 * refused in both modes, within this run and against what this machine saw (`seen`).
 */
import {
  ExpiredMetadataError, InternalError, MixAndMatchError, OversizeError, RollbackError, TamperedError,
} from "./errors.js";
import { checkMetaFile, formatTime, isExpired, parseMetadata, verifySignatures } from "./metadata.js";
import { DelegationTree } from "./delegations.js";
import { RoleFloors, checkSnapshotVersions, forgetRotated, noneSeen } from "./rollback.js";
import { matchesLengthAndHashes, sha256Hex } from "./bytes.js";

/** @typedef {import("./metadata.js").Root} Root */
/** @typedef {import("./metadata.js").Timestamp} Timestamp */
/** @typedef {import("./metadata.js").Snapshot} Snapshot */
/** @typedef {import("./metadata.js").Targets} Targets */
/** @typedef {import("./metadata.js").TargetFile} TargetFile */
/** @typedef {import("./rollback.js").SeenVersions} SeenVersions */

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * @typedef {{rootMaxBytes: number, timestampMaxBytes: number, snapshotMaxBytes: number,
 *   targetsMaxBytes: number, maxRootRotations: number, maxDelegations: number,
 *   maxDelegationEdges: number}} Limits
 */

/** Hard limits against endless data and endless chains (`Limits` in policy.py). @type {Readonly<Limits>} */
export const LIMITS = Object.freeze({
  rootMaxBytes: 512 * KiB,
  timestampMaxBytes: 16 * KiB,
  snapshotMaxBytes: 8 * MiB,
  targetsMaxBytes: 32 * MiB,
  maxRootRotations: 256,
  maxDelegations: 4096,
  maxDelegationEdges: 16384,
});

/**
 * @typedef {object} PolicyOptions
 * @property {number} now milliseconds since the epoch
 * @property {boolean} [allowStale] label expiry (true) or refuse it (false: strict mode)
 * @property {SeenVersions} [seen]
 * @property {Limits} [limits]
 */

export class TrustPolicy {
  /**
   * Load the pinned root: self-signed to its own threshold (§5.2).
   * @param {Uint8Array} trustedRoot
   * @param {PolicyOptions} options
   * @returns {Promise<TrustPolicy>}
   * @throws {TamperedError} not root metadata
   * @throws {import("./errors.js").BadSignatureError} below its own threshold
   */
  static async create(trustedRoot, options) {
    const md = parseMetadata(trustedRoot, "root", "trusted root");
    await verifySignatures(md.signed, "root", md, "trusted root");
    return new TrustPolicy(md.signed, options);
  }

  /**
   * @param {Root} root verified already (use `create`)
   * @param {PolicyOptions} options
   */
  constructor(root, options) {
    this.now = options.now;
    this.allowStale = options.allowStale ?? true;
    this.limits = options.limits ?? LIMITS;
    this.seen = options.seen ?? noneSeen();
    this.root = root;
    this.rootFinal = false;
    /** @type {Timestamp | null} */
    this.timestampSigned = null;
    /** @type {Snapshot | null} */
    this.snapshotSigned = null;
    this.tree = new DelegationTree(this.limits.maxDelegations);
    /** @type {Map<string, import("./metadata.js").Metadata<Targets>>} */
    this.roleMetadata = new Map();
    this.floors = new RoleFloors(this.seen);
    /** @type {Map<string, number>} expired roles and when each expired */
    this.stale = new Map();
  }

  /** The earliest expiry among loaded metadata: when this release stops being current. */
  get expires() {
    const all = [this.root, ...this.tree.roles.values(), this.timestampSigned, this.snapshotSigned];
    return Math.min(...all.flatMap((s) => (s ? [s.expires] : [])));
  }

  /**
   * @param {string} role
   * @param {import("./metadata.js").Signed} signed
   * @param {string} where
   */
  checkExpiry(role, signed, where) {
    this.stale.delete(role);
    if (!isExpired(signed, this.now)) return;
    if (!this.allowStale) {
      throw new ExpiredMetadataError(`${role} expired ${formatTime(signed.expires)}`, { where });
    }
    this.stale.set(role, signed.expires);
  }

  /**
   * Accept root N+1: signed by a threshold of root N's keys and of its own (§5.3.4).
   * @param {Uint8Array} data
   * @param {string} [where]
   * @throws {RollbackError} an older version
   * @throws {TamperedError} not root N+1
   * @throws {import("./errors.js").BadSignatureError} below either threshold
   */
  async updateRoot(data, where = `${this.root.version + 1}.root.json`) {
    if (this.rootFinal) throw new InternalError("root cannot be updated after the timestamp was loaded");
    const md = parseMetadata(data, "root", where);
    const expected = this.root.version + 1;
    if (md.signed.version < expected) {
      throw new RollbackError(`expected root version ${expected}, found older version ${md.signed.version}`, { where });
    }
    if (md.signed.version !== expected) {
      throw new TamperedError(`expected root version ${expected}, found ${md.signed.version}`, { where });
    }
    await verifySignatures(this.root, "root", md, where);
    await verifySignatures(md.signed, "root", md, where);
    this.root = md.signed;
  }

  /** @param {string} where */
  finalizeRoot(where) {
    if (this.root.version < this.seen.root) {
      throw new RollbackError(
        `expected root version ${this.seen.root} or newer (seen on this machine), found ${this.root.version}`,
        { where },
      );
    }
    this.checkExpiry("root", this.root, where);
    this.seen = forgetRotated(this.seen, this.root);
    this.floors = new RoleFloors(this.seen);
    this.rootFinal = true;
  }

  get timestamp() {
    if (!this.timestampSigned) throw new InternalError("the timestamp is not loaded yet");
    return this.timestampSigned;
  }

  /**
   * Accept a timestamp signed by root's timestamp keys, not older than before (§5.4).
   * @param {Uint8Array} data
   * @param {string} [where]
   * @returns {Promise<boolean>} false when it has the version loaded already
   * @throws {RollbackError | TamperedError | ExpiredMetadataError | import("./errors.js").BadSignatureError}
   */
  async updateTimestamp(data, where = "timestamp.json") {
    if (this.snapshotSigned) throw new InternalError("timestamp cannot be updated after the snapshot was loaded");
    if (!this.rootFinal) this.finalizeRoot(where);
    const md = parseMetadata(data, "timestamp", where);
    await verifySignatures(this.root, "timestamp", md, where);
    const next = md.signed;
    let floorTs = this.seen.timestamp;
    let floorSn = this.seen.snapshot;
    if (this.timestampSigned) {
      if (next.version === this.timestampSigned.version && next.version >= floorTs) return false;
      floorTs = Math.max(floorTs, this.timestampSigned.version);
      floorSn = Math.max(floorSn, this.timestampSigned.snapshotMeta.version);
    }
    if (next.version < floorTs) {
      throw new RollbackError(`expected timestamp version ${floorTs} or newer, found ${next.version}`, {
        where, hint: "this copy is older than one seen before; try another mirror",
      });
    }
    if (next.snapshotMeta.version < floorSn) {
      throw new RollbackError(
        `expected snapshot version ${floorSn} or newer, timestamp v${next.version} names ${next.snapshotMeta.version}`,
        { where },
      );
    }
    this.timestampSigned = next;
    this.checkExpiry("timestamp", next, where);
    return true;
  }

  get snapshot() {
    if (!this.snapshotSigned) throw new InternalError("the snapshot is not loaded yet");
    return this.snapshotSigned;
  }

  /**
   * Accept the snapshot the timestamp names (hash, length, version; §5.5). `trusted` skips
   * the hash check for bytes verified on an earlier run (a kept copy, as a floor).
   * @param {Uint8Array} data
   * @param {{where?: string, trusted?: boolean}} [options]
   * @throws {TamperedError | MixAndMatchError | RollbackError | ExpiredMetadataError | import("./errors.js").BadSignatureError}
   */
  async updateSnapshot(data, options = {}) {
    if (this.tree.roles.size) throw new InternalError("snapshot cannot be updated after targets were loaded");
    const meta = this.timestamp.snapshotMeta;
    const where = options.where ?? `${meta.version}.snapshot.json`;
    if (!this.allowStale) this.checkExpiry("timestamp", this.timestamp, "timestamp.json");
    if (!options.trusted) await checkMetaFile("snapshot", meta, data, where, `timestamp v${this.timestamp.version}`);
    const md = parseMetadata(data, "snapshot", where);
    await verifySignatures(this.root, "snapshot", md, where);
    const next = md.signed;
    checkSnapshotVersions(this.snapshotSigned, next, this.seen.snapshot, where);
    this.snapshotSigned = next;
    this.checkExpiry("snapshot", next, where);
    if (next.version !== meta.version) {
      throw new MixAndMatchError(
        `expected snapshot version ${meta.version} (named by timestamp v${this.timestamp.version}), found ${next.version}`,
        { where },
      );
    }
  }

  finalSnapshot() {
    const snap = this.snapshot;
    if (snap.version !== this.timestamp.snapshotMeta.version) {
      throw new MixAndMatchError("the loaded snapshot is not the one the timestamp names");
    }
    if (!this.allowStale) this.checkExpiry("snapshot", snap, `${snap.version}.snapshot.json`);
    return snap;
  }

  /** @param {string} role @param {string} delegator */
  delegator(role, delegator) {
    const parent = delegator === "root" ? this.root : this.tree.roles.get(delegator);
    if (!parent) throw new InternalError(`${role}: delegator ${delegator} is not loaded yet`);
    return parent;
  }

  /**
   * The snapshot's entry for targets `role`.
   * @param {string} role
   * @param {string} delegator
   * @throws {MixAndMatchError} the snapshot does not list it
   */
  roleMeta(role, delegator) {
    const snap = this.finalSnapshot();
    const meta = snap.meta.get(`${role}.json`);
    if (!meta) {
      throw new MixAndMatchError(
        `expected snapshot v${snap.version} to list ${role}.json (delegated by ${delegator}), found no entry`,
        { where: `${role}.json` },
      );
    }
    return meta;
  }

  /**
   * Accept targets `role` as listed in the snapshot and signed as `delegator` says (§5.6).
   * @param {Uint8Array} data
   * @param {string} role
   * @param {string} delegator
   * @param {string} [where]
   * @throws {MixAndMatchError | TamperedError | RollbackError | ExpiredMetadataError | import("./errors.js").BadSignatureError}
   */
  async updateDelegatedTargets(data, role, delegator, where) {
    const snap = this.finalSnapshot();
    const parent = this.delegator(role, delegator);
    if (this.tree.roles.has(role)) throw new InternalError(`${role} is loaded already: trust another edge to it instead`);
    const meta = this.roleMeta(role, delegator);
    const at = where ?? `${meta.version}.${role}.json`;
    this.floors.check(role, meta, parent, snap.version, at);
    await checkMetaFile("targets", meta, data, at, `snapshot v${snap.version}`);
    const md = parseMetadata(data, "targets", at);
    await verifySignatures(parent, role, md, at);
    if (md.signed.version !== meta.version) {
      throw new MixAndMatchError(
        `expected ${role} version ${meta.version} (named by snapshot v${snap.version}), found ${md.signed.version}`,
        { where: at },
      );
    }
    this.checkExpiry(role, md.signed, at);
    this.tree.add(role, md.signed, delegator, parent);
    this.roleMetadata.set(role, md);
    return md.signed;
  }

  /**
   * Trust `delegator` → `role` for a role verified through another edge: the same metadata
   * (fixed by the snapshot) must verify against this delegator's keys and threshold.
   * @param {string} role
   * @param {string} delegator
   * @throws {import("./errors.js").BadSignatureError | OversizeError}
   */
  async trustDelegation(role, delegator) {
    if (this.tree.trusts(delegator, role)) return;
    const parent = this.delegator(role, delegator);
    const md = this.roleMetadata.get(role);
    if (!md) throw new InternalError(`${role} is not loaded yet: load it through ${delegator}`);
    const where = `${this.snapshot.meta.get(`${role}.json`)?.version}.${role}.json`;
    await verifySignatures(parent, role, md, `${where} (delegated by ${delegator})`);
    if (this.tree.edgeCount >= this.limits.maxDelegationEdges) {
      throw new OversizeError(`expected at most ${this.limits.maxDelegationEdges} delegation edges, found more`, { where });
    }
    this.tree.addEdge(role, delegator, parent);
  }

  /**
   * Check `data` is exactly the file signed at `path` (every role loaded; §5.7).
   * @param {string} path
   * @param {Uint8Array} data
   * @throws {import("./errors.js").UnauthorizedPathError | TamperedError}
   */
  async verifyTarget(path, data) {
    const found = await this.tree.resolve(path);
    if (!found) {
      await this.tree.checkAuthorized(path);
      throw new TamperedError(`${path} is not a file this publisher signed`, { where: path });
    }
    const [role, info] = found;
    if (!(await matchesLengthAndHashes(data, info.length, info.hashes))) {
      throw new TamperedError(
        `${path} differs from the signed copy (role ${role}): expected ${info.length} bytes with sha256 ${info.hashes.sha256 ?? "?"}, found ${data.length} bytes with sha256 ${await sha256Hex(data)}`,
        { where: path },
      );
    }
    return info;
  }

  /** What to remember after a successful verification (merged with what was seen). */
  seenAfter() {
    return this.floors.remember(this.root, this.timestamp, this.snapshot);
  }
}
