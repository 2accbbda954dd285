/**
 * One signature by one key, with WebCrypto: the key types python-tuf verifies
 * (ed25519; ecdsa P-256/384/521; rsassa-pss and rsa-pkcs1v15 with SHA-256/384/512).
 * Invariant: `verifySignature` answers true only for a valid signature; malformed keys or
 * signatures are simply not valid (they never count towards a threshold).
 */
import { asBuffer, fromHex } from "./bytes.js";

/** @typedef {{keytype: string, scheme: string, public: string}} PublicKey */

/** @typedef {(publicKey: Uint8Array, signature: Uint8Array, message: Uint8Array) => Promise<boolean>} Ed25519Verify */

/** @type {Ed25519Verify | null} */
let ed25519Fallback = null;

/**
 * Install an Ed25519 verifier for browsers whose WebCrypto lacks Ed25519 (e.g. one built on
 * an audited library); used only when WebCrypto refuses the algorithm.
 * @param {Ed25519Verify | null} verify
 */
export function setEd25519Fallback(verify) {
  ed25519Fallback = verify;
}

const HASHES = /** @type {Record<string, string>} */ ({ sha256: "SHA-256", sha384: "SHA-384", sha512: "SHA-512" });
const CURVES = /** @type {Record<string, [string, string, number]>} */ ({
  "ecdsa-sha2-nistp256": ["P-256", "SHA-256", 32],
  "ecdsa-sha2-nistp384": ["P-384", "SHA-384", 48],
  "ecdsa-sha2-nistp521": ["P-521", "SHA-512", 66],
});

/**
 * Whether python-tuf would accept this key type and scheme (others make the metadata
 * unreadable, exactly as `Key.from_dict` refuses them).
 * @param {string} keytype
 * @param {string} scheme
 */
export function isSupportedKey(keytype, scheme) {
  if (keytype === "ed25519") return scheme === "ed25519";
  if (scheme in CURVES) return keytype === "ecdsa" || keytype === scheme;
  return keytype === "rsa" && /^(rsassa-pss|rsa-pkcs1v15)-sha(256|384|512)$/.test(scheme);
}

/** @param {string} pem */
function pemBody(pem) {
  const match = /-----BEGIN PUBLIC KEY-----([A-Za-z0-9+/=\s]+)-----END PUBLIC KEY-----/.exec(pem);
  if (!match) return null;
  return Uint8Array.from(atob(match[1].replace(/\s+/g, "")), (c) => c.charCodeAt(0));
}

/**
 * A DER ECDSA signature (SEQUENCE of two INTEGERs) as WebCrypto's fixed-size r‖s.
 * @param {Uint8Array} der
 * @param {number} size bytes per integer
 */
function derToRaw(der, size) {
  let at = 2;
  if (der[0] !== 0x30) return null;
  if (der[1] & 0x80) at += der[1] & 0x7f;
  const out = new Uint8Array(2 * size);
  for (let part = 0; part < 2; part++) {
    if (der[at] !== 0x02) return null;
    let length = der[at + 1];
    let start = at + 2;
    at = start + length;
    while (length > size && der[start] === 0) (start++, length--);
    if (length > size || at > der.length) return null;
    out.set(der.subarray(start, start + length), (part + 1) * size - length);
  }
  return at === der.length ? out : null;
}

/**
 * @param {PublicKey} key
 * @param {string} signatureHex
 * @param {Uint8Array} message
 * @returns {Promise<boolean>}
 */
export async function verifySignature(key, signatureHex, message) {
  const signature = fromHex(signatureHex);
  if (!signature) return false;
  try {
    if (key.keytype === "ed25519") {
      const raw = fromHex(key.public);
      if (!raw || raw.length !== 32) return false;
      let imported;
      try {
        imported = await crypto.subtle.importKey("raw", asBuffer(raw), { name: "Ed25519" }, false, ["verify"]);
      } catch (error) {
        if (ed25519Fallback && error instanceof DOMException && error.name === "NotSupportedError") {
          return await ed25519Fallback(raw, signature, message);
        }
        throw error;
      }
      return await crypto.subtle.verify({ name: "Ed25519" }, imported, asBuffer(signature), asBuffer(message));
    }
    const spki = pemBody(key.public);
    if (!spki) return false;
    const curve = CURVES[key.scheme];
    if (curve) {
      const [namedCurve, hash, size] = curve;
      const raw = derToRaw(signature, size);
      if (!raw) return false;
      const imported = await crypto.subtle.importKey("spki", asBuffer(spki), { name: "ECDSA", namedCurve }, false, ["verify"]);
      return await crypto.subtle.verify({ name: "ECDSA", hash }, imported, raw, asBuffer(message));
    }
    const [, padding, digest] = /** @type {RegExpExecArray} */ (/^(rsassa-pss|rsa-pkcs1v15)-(sha\d+)$/.exec(key.scheme));
    const hash = HASHES[digest];
    const name = padding === "rsassa-pss" ? "RSA-PSS" : "RSASSA-PKCS1-v1_5";
    const imported = await crypto.subtle.importKey("spki", asBuffer(spki), { name, hash }, false, ["verify"]);
    // securesystemslib signs PSS with a salt as long as the digest.
    const params = { name, saltLength: Number(hash.slice(4)) / 8 };
    return await crypto.subtle.verify(params, imported, asBuffer(signature), asBuffer(message));
  } catch {
    return false; // unreadable key material or signature: not a valid signature
  }
}
