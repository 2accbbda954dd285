/**
 * The Ed25519 fallback for browsers whose WebCrypto lacks Ed25519: @noble/ed25519 (audited,
 * pinned in package-lock.json), loaded by the worker only when it needs it (a second file,
 * outside the worker's size budget). Strict RFC 8032 verification (no ZIP-215 leniency),
 * as WebCrypto and python-tuf's `cryptography` verify.
 */
import { verifyAsync } from "@noble/ed25519";

/** @type {any} */ (self).tamizdatEd25519 = {
  /** @param {Uint8Array} publicKey @param {Uint8Array} signature @param {Uint8Array} message */
  verify: (publicKey, signature, message) => verifyAsync(signature, message, publicKey, { zip215: false }).catch(() => false),
};
