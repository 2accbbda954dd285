/**
 * Rollback protection across runs: what this machine saw, and when it may forget it
 * (trust/verify/rollback.py). Invariant: a floor only ever rises, except in fast-forward
 * attack recovery (TUF §5.3.11): a rotation of the timestamp or snapshot keys forgets the
 * timestamp, snapshot and role versions; a rotation of one targets role's keys (as its
 * verified delegator names them) forgets that role's version only.
 */
import { RollbackError } from "./errors.js";
import { delegatedKeyids } from "./metadata.js";

/**
 * The highest versions accepted for one publisher; the JSON form of `seen_to_json`.
 * @typedef {{root: number, timestamp: number, snapshot: number, roles: Record<string, number>,
 *   timestamp_keys: string[], snapshot_keys: string[], log_head: [number, string] | null,
 *   role_keys: Record<string, string[]>}} SeenVersions
 */

/** @returns {SeenVersions} all zero: nothing seen yet */
export const noneSeen = () => ({
  root: 0, timestamp: 0, snapshot: 0, roles: {}, timestamp_keys: [], snapshot_keys: [], log_head: null, role_keys: {},
});

/** @param {string[]} a @param {string[]} b */
const sameSet = (a, b) => [...a].sort().join() === [...b].sort().join();

/**
 * `seen` without timestamp, snapshot and role versions if `root` rotated their keys.
 * @param {SeenVersions} seen
 * @param {import("./metadata.js").Root} root
 * @returns {SeenVersions}
 */
export function forgetRotated(seen, root) {
  const ts = /** @type {import("./metadata.js").Role} */ (root.roles.get("timestamp")).keyids;
  const sn = /** @type {import("./metadata.js").Role} */ (root.roles.get("snapshot")).keyids;
  const rotated = (seen.timestamp_keys.length && !sameSet(seen.timestamp_keys, ts)) ||
    (seen.snapshot_keys.length && !sameSet(seen.snapshot_keys, sn));
  if (!rotated) return seen;
  return { ...noneSeen(), root: seen.root, log_head: seen.log_head };
}

/**
 * §5.5.3 and §5.5.5: `next` is not older than seen, nor than `trusted` (this run).
 * @param {import("./metadata.js").Snapshot | null} trusted
 * @param {import("./metadata.js").Snapshot} next
 * @param {number} floor
 * @param {string} where
 */
export function checkSnapshotVersions(trusted, next, floor, where) {
  if (next.version < floor) {
    throw new RollbackError(`expected snapshot version ${floor} or newer, found ${next.version}`, { where });
  }
  for (const [name, info] of trusted?.meta ?? []) {
    const listed = next.meta.get(name);
    if (!listed) throw new RollbackError(`${name} was removed from the snapshot`, { where });
    if (listed.version < info.version) {
      throw new RollbackError(
        `expected ${name} version ${info.version} or newer, snapshot v${next.version} names ${listed.version}`,
        { where },
      );
    }
  }
}

/** Per-role floors from `seen`, checked as each targets role loads. */
export class RoleFloors {
  /** @param {SeenVersions} seen */
  constructor(seen) {
    this.seen = seen;
    /** @type {Map<string, string[]>} */
    this.keys = new Map();
    /** @type {Set<string>} */
    this.rekeyed = new Set();
  }

  /**
   * @param {string} role
   * @param {import("./metadata.js").MetaFile} meta
   * @param {import("./metadata.js").Root | import("./metadata.js").Targets} parent
   * @param {number} snapshot
   * @param {string} where
   * @throws {RollbackError} older than seen and the role's keys unchanged
   */
  check(role, meta, parent, snapshot, where) {
    const keys = delegatedKeyids(parent, role);
    this.keys.set(role, keys);
    const seenKeys = Object.hasOwn(this.seen.role_keys, role) ? this.seen.role_keys[role] : null;
    if (seenKeys && seenKeys.join() !== keys.join()) {
      this.rekeyed.add(role);
      return;
    }
    const floor = Object.hasOwn(this.seen.roles, role) ? this.seen.roles[role] : 0;
    if (meta.version < floor) {
      throw new RollbackError(
        `expected ${role}.json version ${floor} or newer, snapshot v${snapshot} names ${meta.version}`,
        { where },
      );
    }
  }

  /**
   * What to remember after a successful verification (maxima with `seen`).
   * @param {import("./metadata.js").Root} root
   * @param {import("./metadata.js").Timestamp} timestamp
   * @param {import("./metadata.js").Snapshot} snapshot
   * @returns {SeenVersions}
   */
  remember(root, timestamp, snapshot) {
    const seen = this.seen;
    /** @type {Record<string, number>} */
    const roles = Object.assign(Object.create(null), seen.roles);
    for (const [name, info] of snapshot.meta) {
      const role = name.endsWith(".json") ? name.slice(0, -5) : name;
      const floor = this.rekeyed.has(role) || !Object.hasOwn(roles, role) ? 0 : roles[role];
      roles[role] = Math.max(floor, info.version);
    }
    const keyids = (/** @type {string} */ name) => [.../** @type {import("./metadata.js").Role} */ (root.roles.get(name)).keyids].sort();
    return {
      root: Math.max(root.version, seen.root),
      timestamp: Math.max(timestamp.version, seen.timestamp),
      snapshot: Math.max(snapshot.version, seen.snapshot),
      roles: sortedRecord(roles),
      timestamp_keys: keyids("timestamp"),
      snapshot_keys: keyids("snapshot"),
      log_head: seen.log_head,
      role_keys: sortedRecord({ ...Object.fromEntries(Object.entries(seen.role_keys)), ...Object.fromEntries(this.keys) }),
    };
  }
}

/**
 * @template T
 * @param {Record<string, T>} record
 * @returns {Record<string, T>}
 */
const sortedRecord = (record) => Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
