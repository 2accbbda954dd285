/**
 * TUF metadata read from untrusted bytes, and the checks on one file: parse it, count its
 * signatures, compare it with the entry that names it (trust/verify/checks.py).
 * Invariant: a parsed file has exactly the shape python-tuf's `Metadata.from_bytes` accepts
 * (anything else is `TamperedError`), every map keyed by an untrusted name is a `Map`
 * (a role or path called `__proto__` is just a name), and nothing here does I/O.
 */
import { canonicalBytes } from "./canonical.js";
import { decodeUtf8, matchesLengthAndHashes, sha256Hex, utf8 } from "./bytes.js";
import { isSupportedKey, verifySignature } from "./keys.js";
import { BadSignatureError, MixAndMatchError, TamperedError } from "./errors.js";

/** @typedef {import("./keys.js").PublicKey} PublicKey */
/** @typedef {{keyids: string[], threshold: number}} Role */
/** @typedef {{version: number, length: number | null, hashes: Record<string, string> | null}} MetaFile */
/** @typedef {{length: number, hashes: Record<string, string>}} TargetFile */
/**
 * @typedef {{name: string, keyids: string[], threshold: number, terminating: boolean,
 *   paths: string[] | null, prefixes: string[] | null}} DelegatedRole
 */
/** @typedef {{keyids: string[], threshold: number, bitLength: number, prefix: string}} SuccinctRoles */
/** @typedef {{keys: Map<string, PublicKey>, roles: DelegatedRole[] | null, succinct: SuccinctRoles | null}} Delegations */
/** @typedef {{type: string, version: number, expires: number, signed: Record<string, unknown>}} Signed */
/** @typedef {Signed & {type: "root", keys: Map<string, PublicKey>, roles: Map<string, Role>, consistentSnapshot: boolean}} Root */
/** @typedef {Signed & {type: "timestamp", snapshotMeta: MetaFile}} Timestamp */
/** @typedef {Signed & {type: "snapshot", meta: Map<string, MetaFile>}} Snapshot */
/** @typedef {Signed & {type: "targets", targets: Map<string, TargetFile>, delegations: Delegations | null}} Targets */
/** @typedef {Root | Timestamp | Snapshot | Targets} AnySigned */
/**
 * @template {AnySigned} [S=AnySigned]
 * @typedef {{signed: S, signatures: Map<string, string>}} Metadata
 */

export const TOP_LEVEL = ["root", "timestamp", "snapshot", "targets"];

/** Thrown inside the parser; turned into one TamperedError naming the file. */
class ShapeError extends Error {}

/**
 * @param {unknown} ok
 * @param {string} message
 * @returns {asserts ok}
 */
function need(ok, message) {
  if (!ok) throw new ShapeError(message);
}

/** @param {unknown} value @returns {value is Record<string, unknown>} */
export const isObject = (value) => typeof value === "object" && value !== null && !Array.isArray(value);

/** @param {unknown} value @param {string} what */
function object(value, what) {
  need(isObject(value), `${what} must be an object`);
  return value;
}

/** @param {unknown} value @param {string} what */
function string(value, what) {
  need(typeof value === "string", `${what} must be a string`);
  return value;
}

/** @param {unknown} value @param {string} what @param {number} [min] */
function integer(value, what, min = 0) {
  need(Number.isSafeInteger(value) && /** @type {number} */ (value) >= min, `${what} must be an integer of at least ${min}`);
  return /** @type {number} */ (value);
}

/** @param {unknown} value @param {string} what */
function strings(value, what) {
  need(Array.isArray(value) && value.every((v) => typeof v === "string"), `${what} must be a list of strings`);
  return /** @type {string[]} */ (value);
}

/** @param {unknown} value @param {string} what */
function keyids(value, what) {
  const ids = strings(value, what);
  need(new Set(ids).size === ids.length, `${what} has duplicates`);
  return ids;
}

/** @param {unknown} value */
function hashes(value) {
  const map = object(value, "hashes");
  need(Object.keys(map).length > 0, "hashes must not be empty");
  for (const h of Object.values(map)) string(h, "a hash");
  return /** @type {Record<string, string>} */ (map);
}

// Python's strptime("%Y-%m-%dT%H:%M:%SZ"): one- or two-digit fields, a space before a day.
const EXPIRES = /^(\d{4})-(1[0-2]|0[1-9]|[1-9])-(3[01]|[12]\d|0[1-9]|[1-9]| [1-9])T(2[0-3]|[01]\d|\d):([0-5]\d|\d):(6[01]|[0-5]\d|\d)Z$/;

/** @param {unknown} value @returns {number} milliseconds since the epoch */
export function parseExpires(value) {
  const match = EXPIRES.exec(string(value, "expires"));
  need(match, `expires must be YYYY-MM-DDTHH:MM:SSZ`);
  const [y, mo, d, h, mi, s] = match.slice(1).map(Number);
  const time = Date.UTC(y, mo - 1, d, h, mi, s);
  need(s < 60 && new Date(time).getUTCDate() === d && y > 0, "expires is not a date");
  return time;
}

/** @param {unknown} value @returns {MetaFile} */
function metaFile(value) {
  const meta = object(value, "a meta entry");
  return {
    version: integer(meta.version, "version", 1),
    length: meta.length == null ? null : integer(meta.length, "length"),
    hashes: meta.hashes == null ? null : hashes(meta.hashes),
  };
}

/** @param {unknown} value @returns {Map<string, PublicKey>} */
function keys(value) {
  const out = new Map();
  for (const [id, raw] of Object.entries(object(value, "keys"))) {
    const key = object(raw, "a key");
    const keytype = string(key.keytype, "keytype");
    const scheme = string(key.scheme, "scheme");
    need(isSupportedKey(keytype, scheme), `unsupported public key ${keytype}/${scheme}`);
    out.set(id, { keytype, scheme, public: string(object(key.keyval, "keyval").public, "keyval.public") });
  }
  return out;
}

/** @param {unknown} value @returns {Delegations} */
function delegations(value) {
  const raw = object(value, "delegations");
  need((raw.roles == null) !== (raw.succinct_roles == null), "one of roles and succinct_roles must be set");
  /** @type {DelegatedRole[] | null} */
  let roles = null;
  /** @type {SuccinctRoles | null} */
  let succinct = null;
  if (raw.roles != null) {
    need(Array.isArray(raw.roles), "roles must be a list");
    const names = new Set();
    roles = raw.roles.map((/** @type {unknown} */ item) => {
      const role = object(item, "a delegated role");
      const name = string(role.name, "name");
      need(name && !TOP_LEVEL.includes(name) && !names.has(name), `bad or duplicate role name ${name}`);
      names.add(name);
      need(typeof role.terminating === "boolean", "terminating must be a boolean");
      need((role.paths == null) !== (role.path_hash_prefixes == null), "one of paths and path_hash_prefixes must be set");
      return {
        name,
        keyids: keyids(role.keyids, "keyids"),
        threshold: integer(role.threshold, "threshold", 1),
        terminating: role.terminating,
        paths: role.paths == null ? null : strings(role.paths, "paths"),
        prefixes: role.path_hash_prefixes == null ? null : strings(role.path_hash_prefixes, "path_hash_prefixes"),
      };
    });
  } else {
    const s = object(raw.succinct_roles, "succinct_roles");
    const bitLength = integer(s.bit_length, "bit_length", 1);
    need(bitLength <= 32, "bit_length must be at most 32");
    succinct = {
      keyids: keyids(s.keyids, "keyids"),
      threshold: integer(s.threshold, "threshold", 1),
      bitLength,
      prefix: string(s.name_prefix, "name_prefix"),
    };
  }
  return { keys: keys(raw.keys), roles, succinct };
}

/**
 * @param {Record<string, unknown>} signed
 * @param {string} type
 * @returns {AnySigned}
 */
function readSigned(signed, type) {
  const spec = string(signed.spec_version, "spec_version").split(".");
  need(spec.length >= 2 && spec.length <= 3 && spec.every((p) => /^\d+$/.test(p)) && spec[0] === "1", "unsupported spec_version");
  const common = { version: integer(signed.version, "version", 1), expires: parseExpires(signed.expires), signed };
  if (type === "root") {
    const roles = new Map();
    const raw = object(signed.roles, "roles");
    need(Object.keys(raw).sort().join() === [...TOP_LEVEL].sort().join(), "roles must be the top-level roles");
    for (const [name, value] of Object.entries(raw)) {
      const role = object(value, "a role");
      roles.set(name, { keyids: keyids(role.keyids, "keyids"), threshold: integer(role.threshold, "threshold", 1) });
    }
    const consistent = signed.consistent_snapshot ?? false;
    need(typeof consistent === "boolean", "consistent_snapshot must be a boolean");
    return { ...common, type, keys: keys(signed.keys), roles, consistentSnapshot: consistent };
  }
  if (type === "timestamp") {
    return { ...common, type, snapshotMeta: metaFile(object(signed.meta, "meta")["snapshot.json"]) };
  }
  if (type === "snapshot") {
    const meta = new Map(Object.entries(object(signed.meta, "meta")).map(([k, v]) => [k, metaFile(v)]));
    return { ...common, type, meta };
  }
  const targets = new Map();
  for (const [path, value] of Object.entries(object(signed.targets, "targets"))) {
    const target = object(value, "a target");
    targets.set(path, { length: integer(target.length, "length"), hashes: hashes(target.hashes) });
  }
  const dele = signed.delegations == null ? null : delegations(signed.delegations);
  return { ...common, type: "targets", targets, delegations: dele };
}

/**
 * Deserialise metadata of type `kind` (python-tuf's `Metadata.from_bytes` plus our type check).
 * @template {AnySigned["type"]} K
 * @param {Uint8Array} data
 * @param {K} kind
 * @param {string} where
 * @returns {Metadata<Extract<AnySigned, {type: K}>>}
 * @throws {TamperedError} unreadable, or metadata of another type
 */
export function parseMetadata(data, kind, where) {
  let md;
  try {
    md = readMetadata(data);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new TamperedError(`expected ${kind} metadata, found unreadable data (${why})`, { where });
  }
  if (md.signed.type !== kind) {
    throw new TamperedError(`expected ${kind} metadata, found ${md.signed.type}`, { where });
  }
  return /** @type {Metadata<any>} */ (md);
}

/**
 * @param {Uint8Array} data
 * @returns {Metadata}
 */
export function readMetadata(data) {
  const document = object(JSON.parse(decodeUtf8(data)), "metadata");
  const signed = object(document.signed, "signed");
  const type = string(signed._type, "_type");
  need(TOP_LEVEL.includes(type), `unknown metadata type ${type}`);
  need(Array.isArray(document.signatures), "signatures must be a list");
  const signatures = new Map();
  for (const item of document.signatures) {
    const sig = object(item, "a signature");
    const keyid = string(sig.keyid, "keyid");
    need(!signatures.has(keyid), `multiple signatures found for keyid ${keyid}`);
    signatures.set(keyid, string(sig.sig, "sig"));
  }
  return { signed: readSigned(signed, type), signatures };
}

/**
 * The role `name` as `delegator` delegates it (keys and threshold), or null.
 * @param {Root | Targets} delegator
 * @param {string} name
 * @returns {{role: Role, keys: Map<string, PublicKey>} | null}
 */
export function delegatedRole(delegator, name) {
  if (delegator.type === "root") {
    const role = delegator.roles.get(name);
    return role ? { role, keys: delegator.keys } : null;
  }
  const dele = delegator.delegations;
  if (!dele) return null;
  const role = dele.roles ? dele.roles.find((r) => r.name === name) : dele.succinct && isBinName(dele.succinct, name) ? dele.succinct : null;
  return role ? { role, keys: dele.keys } : null;
}

/**
 * The sorted key ids `delegator` authorises for `name` (empty if none).
 * @param {Root | Targets} delegator
 * @param {string} name
 */
export function delegatedKeyids(delegator, name) {
  const found = delegatedRole(delegator, name);
  return found ? [...found.role.keyids].sort() : [];
}

/**
 * A threshold of valid signatures by keys `delegator` authorises for `name` (§5.3.4).
 * @param {Root | Targets} delegator
 * @param {string} name
 * @param {Metadata} md
 * @param {string} where
 * @throws {BadSignatureError} not delegated, or fewer valid signatures than the threshold
 */
export async function verifySignatures(delegator, name, md, where) {
  const found = delegatedRole(delegator, name);
  if (!found) throw new BadSignatureError(`'${name}' is not a role that ${delegator.type} delegates to`, { where });
  const { role, keys } = found;
  let payload = null;
  try {
    payload = canonicalBytes(md.signed.signed);
  } catch {
    // not canonical JSON: no signature can be valid
  }
  let valid = 0;
  for (const id of role.keyids) {
    const key = keys.get(id);
    const sig = md.signatures.get(id);
    if (key && sig !== undefined && payload && (await verifySignature(key, sig, payload))) valid++;
  }
  if (valid >= role.threshold) return;
  const strangers = [...md.signatures.keys()].filter((id) => !role.keyids.includes(id)).length;
  const extra = strangers ? `, plus ${strangers} by keys not authorised for ${name}` : "";
  throw new BadSignatureError(
    `expected valid signatures by ${role.threshold} of the keys authorised for ${name}, found ${valid}${extra}`,
    { where, hint: "a key may have been revoked, or the file was signed by someone else" },
  );
}

/**
 * Length and hashes of `data` against the signed `meta` (§5.5.2, §5.6.2).
 * @param {string} kind
 * @param {MetaFile} meta
 * @param {Uint8Array} data
 * @param {string} where
 * @param {string} by who signed `meta`
 * @throws {MixAndMatchError} correctly typed metadata of another version
 * @throws {TamperedError} anything else that differs
 */
export async function checkMetaFile(kind, meta, data, where, by) {
  if (await matchesLengthAndHashes(data, meta.length, meta.hashes)) return;
  let other = null;
  try {
    other = readMetadata(data).signed;
  } catch {
    // not metadata at all
  }
  if (other && other.type === kind && other.version !== meta.version) {
    throw new MixAndMatchError(
      `expected ${kind} version ${meta.version} (named by ${by}), found version ${other.version}: metadata of different releases combined`,
      { where },
    );
  }
  const named = meta.hashes ? JSON.stringify(meta.hashes) : "no hash";
  throw new TamperedError(
    `expected ${kind} metadata as signed by ${by} (${meta.length || "?"} bytes, ${named}), found ${data.length} bytes with sha256 ${await sha256Hex(data)}`,
    { where },
  );
}

/** @param {number} bitLength */
const suffixLength = (bitLength) => ((2 ** bitLength) - 1).toString(16).length;

/**
 * Whether `name` is one of the hash-bin roles (python-tuf `SuccinctRoles.is_delegated_role`).
 * @param {SuccinctRoles} bins
 * @param {string} name
 */
export function isBinName(bins, name) {
  const suffix = name.slice(bins.prefix.length + 1);
  if (!name.startsWith(`${bins.prefix}-`) || suffix.length !== suffixLength(bins.bitLength)) return false;
  if (!/^[0-9a-fA-F]+$/.test(suffix)) return false;
  return parseInt(suffix, 16) < 2 ** bins.bitLength;
}

/** @param {SuccinctRoles} bins @param {number} bin */
export const binName = (bins, bin) => `${bins.prefix}-${bin.toString(16).padStart(suffixLength(bins.bitLength), "0")}`;

/**
 * The bin role for `path` (python-tuf `SuccinctRoles.get_role_for_target`).
 * @param {SuccinctRoles} bins
 * @param {string} path
 */
export async function binFor(bins, path) {
  const digest = await sha256Hex(utf8(path));
  const value = parseInt(digest.slice(0, 8), 16);
  return binName(bins, Math.floor(value / 2 ** (32 - bins.bitLength)));
}

/**
 * @param {Signed} signed
 * @param {number} now milliseconds
 */
export const isExpired = (signed, now) => now >= signed.expires;

/** @param {number} time */
export const formatTime = (time) => new Date(time).toISOString().replace(/\.\d+Z$/, "Z");
