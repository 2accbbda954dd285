/**
 * OLPC canonical JSON, as securesystemslib writes it: the bytes TUF signatures cover.
 * Keys sorted by code point, no whitespace, only `\` and `"` escaped, integers only,
 * UTF-8. Invariant: equal to `securesystemslib.formats.encode_canonical` for every value
 * JSON.parse can return; anything it refuses (a fraction, a number beyond 2^53) throws.
 */
import { compareCodePoints, utf8 } from "./bytes.js";

/**
 * @param {unknown} value a parsed JSON value
 * @returns {string}
 */
function encode(value) {
  if (typeof value === "string") return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
  if (value === true) return "true";
  if (value === false) return "false";
  if (value === null) return "null";
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new TypeError(`cannot encode the number ${value}`);
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map(encode).join(",")}]`;
  if (typeof value === "object") {
    const object = /** @type {Record<string, unknown>} */ (value);
    const keys = Object.keys(object).sort(compareCodePoints);
    return `{${keys.map((k) => `${encode(k)}:${encode(object[k])}`).join(",")}}`;
  }
  throw new TypeError(`cannot encode a ${typeof value}`);
}

/**
 * The canonical bytes of a parsed JSON value.
 * @param {unknown} value
 * @returns {Uint8Array} throws TypeError for a value canonical JSON cannot hold
 */
export const canonicalBytes = (value) => utf8(encode(value));
