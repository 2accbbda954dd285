/**
 * Bytes, text and digests, with WebCrypto only (browsers, workers and Node ≥ 20 alike).
 * Invariant: text is decoded strictly (invalid UTF-8 is an error, a byte-order mark is
 * kept), as Python's `bytes.decode("utf-8")` does, so both verifiers read the same JSON.
 */

const encoder = new TextEncoder();
const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * The same bytes, typed for WebCrypto (our arrays never live in shared memory).
 * @param {Uint8Array} data
 */
export const asBuffer = (data) => /** @type {Uint8Array<ArrayBuffer>} */ (data);

/** @param {string} text */
export const utf8 = (text) => encoder.encode(text);

/**
 * @param {Uint8Array} data
 * @returns {string} throws TypeError on invalid UTF-8
 */
export const decodeUtf8 = (data) => strict.decode(data);

/** @param {Uint8Array} data */
export const toHex = (data) => Array.from(data, (b) => b.toString(16).padStart(2, "0")).join("");

/**
 * @param {string} hex
 * @returns {Uint8Array | null} null when not an even number of hex digits
 */
export function fromHex(hex) {
  if (hex.length % 2 || /[^0-9a-fA-F]/.test(hex)) return null;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** WebCrypto names of the hash algorithms TUF metadata may name. */
const DIGESTS = /** @type {Record<string, string>} */ ({
  sha256: "SHA-256",
  sha384: "SHA-384",
  sha512: "SHA-512",
});

/**
 * The hex digest of `data` by a TUF hash name, or null for an algorithm we cannot compute.
 * @param {string} algorithm
 * @param {Uint8Array} data
 */
export async function digestHex(algorithm, data) {
  const name = DIGESTS[algorithm];
  if (!name) return null;
  return toHex(new Uint8Array(await crypto.subtle.digest(name, asBuffer(data))));
}

/** @param {Uint8Array} data */
export const sha256Hex = async (data) => /** @type {string} */ (await digestHex("sha256", data));

/**
 * Whether `data` has exactly `length` (if given) and every listed hash. An algorithm we
 * cannot compute counts as a mismatch (python-tuf: LengthOrHashMismatchError).
 * @param {Uint8Array} data
 * @param {number | null | undefined} length
 * @param {Record<string, string> | null | undefined} hashes
 */
export async function matchesLengthAndHashes(data, length, hashes) {
  if (length != null && data.length !== length) return false;
  for (const [algorithm, expected] of Object.entries(hashes ?? {})) {
    if ((await digestHex(algorithm, data)) !== expected) return false;
  }
  return true;
}

/**
 * Compare two strings by code point (Python's `str` order; JavaScript's `<` compares
 * UTF-16 units, which differs above U+FFFF).
 * @param {string} a
 * @param {string} b
 */
export function compareCodePoints(a, b) {
  const x = Array.from(a, (c) => /** @type {number} */ (c.codePointAt(0)));
  const y = Array.from(b, (c) => /** @type {number} */ (c.codePointAt(0)));
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i] - y[i];
  }
  return x.length - y.length;
}
