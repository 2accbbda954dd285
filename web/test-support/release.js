/** Build small signed releases in JavaScript (WebCrypto Ed25519) for the unit tests. */
import { byHashPath, metadataPath } from "../src/layout.js";
import { canonicalBytes, sha256Hex, toHex, utf8 } from "../src/index.js";

/** @typedef {{keyid: string, key: object, privateKey: CryptoKey}} TestKey */

/** @returns {Promise<TestKey>} */
export async function newKey() {
  const pair = /** @type {CryptoKeyPair} */ (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]));
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  const key = { keytype: "ed25519", scheme: "ed25519", keyval: { public: toHex(raw) } };
  return { keyid: await sha256Hex(canonicalBytes(key)), key, privateKey: pair.privateKey };
}

/**
 * @param {Record<string, unknown>} signed
 * @param {TestKey[]} keys
 */
export async function sign(signed, keys) {
  const payload = canonicalBytes(signed);
  const signatures = [];
  for (const k of keys) {
    const sig = new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, k.privateKey, /** @type {Uint8Array<ArrayBuffer>} */ (payload)));
    signatures.push({ keyid: k.keyid, sig: toHex(sig) });
  }
  return utf8(JSON.stringify({ signatures, signed }, null, 1));
}

/** @param {number} days */
export const expires = (days) => new Date(Date.now() + days * 86_400_000).toISOString().replace(/\.\d+Z$/, "Z");

/** @param {TestKey[]} keys */
const keyMap = (keys) => Object.fromEntries(keys.map((k) => [k.keyid, k.key]));

/**
 * @typedef {{name: string, paths?: string[], terminating?: boolean, parent?: string, key?: TestKey}} Desk
 * @typedef {{files: Record<string, string>, assign?: Record<string, string>, desks?: Desk[],
 *   bins?: {parent: string, bitLength: number, prefix: string}, timestampDays?: number,
 *   signers?: Record<string, TestKey[]>}} ReleaseSpec
 */

/**
 * A consistent-snapshot release, version 1, as a Map of layout paths.
 * @param {ReleaseSpec} spec
 */
export async function makeRelease(spec) {
  /** @type {Record<string, TestKey>} */
  const keys = {};
  for (const role of ["root", "timestamp", "snapshot", "targets"]) keys[role] = await newKey();
  const desks = spec.desks ?? [];
  for (const desk of desks) keys[desk.name] ??= desk.key ?? (await newKey()); // the first desk of a name signs
  const binKey = spec.bins ? await newKey() : null;
  const binNames = spec.bins ? Array.from({ length: 2 ** spec.bins.bitLength }, (_, i) => `${spec.bins?.prefix}-${i.toString(16)}`) : [];
  const root = {
    _type: "root", spec_version: "1.0.31", version: 1, expires: expires(365), consistent_snapshot: true,
    keys: keyMap(Object.values(keys).slice(0, 4)),
    roles: Object.fromEntries(["root", "timestamp", "snapshot", "targets"].map((r) => [r, { keyids: [keys[r].keyid], threshold: 1 }])),
  };
  /** @type {Map<string, Uint8Array>} */
  const files = new Map();
  const rootBytes = await sign(root, [keys.root]);
  files.set(metadataPath("root", 1), rootBytes);
  const roleNames = [...new Set(["targets", ...desks.map((d) => d.name), ...binNames])];
  /** @type {Record<string, Record<string, object>>} */
  const listed = Object.fromEntries(roleNames.map((r) => [r, {}]));
  for (const [path, text] of Object.entries(spec.files)) {
    const data = utf8(text);
    const sha = await sha256Hex(data);
    const role = spec.assign?.[path] ?? "targets";
    Object.defineProperty(listed[role], path, { value: { length: data.length, hashes: { sha256: sha } }, enumerable: true });
    files.set(path, data);
    files.set(byHashPath(path, sha), data);
  }
  const meta = {};
  for (const role of roleNames) {
    const children = desks.filter((d) => (d.parent ?? "targets") === role);
    /** @type {Record<string, unknown>} */
    const signed = { _type: "targets", spec_version: "1.0.31", version: 1, expires: expires(90), targets: listed[role] };
    if (spec.bins?.parent === role && binKey) {
      signed.delegations = { keys: keyMap([binKey]), succinct_roles: { keyids: [binKey.keyid], threshold: 1, bit_length: spec.bins.bitLength, name_prefix: spec.bins.prefix } };
    } else if (children.length) {
      signed.delegations = {
        keys: keyMap(children.map((d) => d.key ?? keys[d.name])),
        roles: children.map((d) => ({ name: d.name, keyids: [(d.key ?? keys[d.name]).keyid], threshold: 1, terminating: d.terminating ?? true, paths: d.paths ?? ["*"] })),
      };
    }
    const signers = spec.signers?.[role] ?? [binNames.includes(role) && binKey ? binKey : keys[role]];
    files.set(metadataPath(role, 1), await sign(signed, signers));
    Object.assign(meta, { [`${role}.json`]: { version: 1 } });
  }
  const snapshot = await sign({ _type: "snapshot", spec_version: "1.0.31", version: 1, expires: expires(7), meta }, [keys.snapshot]);
  files.set(metadataPath("snapshot", 1), snapshot);
  const timestamp = {
    _type: "timestamp", spec_version: "1.0.31", version: 1, expires: expires(spec.timestampDays ?? 1),
    meta: { "snapshot.json": { version: 1, length: snapshot.length, hashes: { sha256: await sha256Hex(snapshot) } } },
  };
  files.set(metadataPath("timestamp", null), await sign(timestamp, [keys.timestamp]));
  return { files, fingerprint: await sha256Hex(rootBytes), keys };
}
