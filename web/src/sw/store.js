/**
 * What the worker keeps between visits: small state in IndexedDB (the anchor it pinned,
 * seen versions, verified metadata, the last verified release and which object each visited
 * path was), verified objects in the Cache API keyed by their by-hash path (the hash is in
 * the key, so an entry can only ever hold the bytes it names).
 * Invariant: only bytes that passed verification are ever written here.
 */
const DB = "tamizdat";
const KV = "kv";
export const OBJECTS = "tamizdat-objects";

/** @type {Promise<IDBDatabase> | null} */
let opened = null;

/** @returns {Promise<IDBDatabase>} */
function database() {
  opened ??= new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(KV);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  return opened;
}

/**
 * @param {IDBTransactionMode} mode
 * @param {(store: IDBObjectStore) => IDBRequest} act
 * @returns {Promise<any>}
 */
async function run(mode, act) {
  const db = await database();
  return new Promise((resolve, reject) => {
    const request = act(db.transaction(KV, mode).objectStore(KV));
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** @param {string} key */
export const load = (key) => run("readonly", (s) => s.get(key));

/** @param {string} key @param {unknown} value */
export const save = (key, value) => run("readwrite", (s) => s.put(value, key));

/** @param {string} byHash a by-hash layout path */
const objectUrl = (byHash) => new URL(`/${byHash}`, self.location.href).href;

/** @param {string} byHash @returns {Promise<Uint8Array | null>} */
export async function cachedObject(byHash) {
  const found = await (await caches.open(OBJECTS)).match(objectUrl(byHash));
  return found ? new Uint8Array(await found.arrayBuffer()) : null;
}

/** @param {string} byHash @param {Uint8Array} data */
export async function cacheObject(byHash, data) {
  await (await caches.open(OBJECTS)).put(objectUrl(byHash), new Response(/** @type {Uint8Array<ArrayBuffer>} */ (data)));
}

/**
 * The workflow's kept copy: verified metadata from IndexedDB, objects from the cache. The
 * workflow checks every kept file again, exactly like bytes from a mirror.
 * @type {import("../workflow.js").TrustedCopy}
 */
export const KEPT = {
  name: "this browser's verified copy",
  metadata: (role, version) => load(`meta:${version ?? "latest"}.${role}`).then((v) => v ?? null),
  latest: (role) => load(`meta:latest.${role}`).then((v) => v ?? null),
  object: cachedObject,
  keep: async (role, version, data) => {
    await save(`meta:${version ?? "latest"}.${role}`, data);
    if (role === "timestamp" || role === "snapshot") await save(`meta:latest.${role}`, data);
  },
};
