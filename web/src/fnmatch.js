/**
 * Which paths a delegation covers (TUF §5.6.7.2, as python-tuf decides it): a pattern and a
 * path match when they have the same number of `/`-separated segments and each segment
 * matches by Python's `fnmatch.fnmatchcase` (`*` and `?` never cross `/`; `[...]` sets);
 * a hash-prefix delegation covers the paths whose SHA-256 starts with one of its prefixes.
 * Invariant: the same answers as Python (a test compares them on generated patterns).
 */
import { sha256Hex, utf8 } from "./bytes.js";

/** @typedef {{star: true} | {any: true} | {chars: string} | {set: [number, number][], negate: boolean}} Token */

/**
 * Python's `fnmatch.translate`, as tokens over code points.
 * @param {string[]} pattern code points
 * @returns {Token[]}
 */
function tokenize(pattern) {
  /** @type {Token[]} */
  const tokens = [];
  const n = pattern.length;
  let i = 0;
  while (i < n) {
    const c = pattern[i++];
    if (c === "*") {
      if (!tokens.length || !("star" in tokens[tokens.length - 1])) tokens.push({ star: true });
    } else if (c === "?") {
      tokens.push({ any: true });
    } else if (c === "[") {
      let j = i;
      if (j < n && pattern[j] === "!") j++;
      if (j < n && pattern[j] === "]") j++;
      while (j < n && pattern[j] !== "]") j++;
      if (j >= n) {
        tokens.push({ chars: "[" });
        continue;
      }
      let stuff = pattern.slice(i, j);
      i = j + 1;
      const negate = stuff[0] === "!";
      if (negate) stuff = stuff.slice(1);
      if (!stuff.length) {
        // "[!]" matches any character; "[]" cannot occur (the "]" would be a member)
        tokens.push(negate ? { any: true } : { set: [], negate: false });
        continue;
      }
      /** @type {[number, number][]} */
      const set = [];
      for (let k = 0; k < stuff.length; k++) {
        const lo = /** @type {number} */ (stuff[k].codePointAt(0));
        if (stuff[k + 1] === "-" && k + 2 < stuff.length) {
          const hi = /** @type {number} */ (stuff[k + 2].codePointAt(0));
          if (lo <= hi) set.push([lo, hi]); // an empty range matches nothing (Python drops it)
          k += 2;
        } else {
          set.push([lo, lo]);
        }
      }
      tokens.push({ set, negate });
    } else {
      tokens.push({ chars: c });
    }
  }
  return tokens;
}

/**
 * @param {Token} token
 * @param {string} c one code point
 */
function one(token, c) {
  if ("any" in token) return true;
  if ("chars" in token) return token.chars === c;
  if ("set" in token) {
    const code = /** @type {number} */ (c.codePointAt(0));
    return token.set.some(([lo, hi]) => lo <= code && code <= hi) !== token.negate;
  }
  return false;
}

/**
 * `fnmatch.fnmatchcase(name, pattern)`: the whole name matches the whole pattern.
 * @param {string} name
 * @param {string} pattern
 */
export function fnmatch(name, pattern) {
  const tokens = tokenize(Array.from(pattern));
  const text = Array.from(name);
  // Classic wildcard matching with one backtrack point per star (linear in practice).
  let t = 0;
  let p = 0;
  let starAt = -1;
  let mark = 0;
  while (t < text.length) {
    const token = tokens[p];
    if (token && "star" in token) {
      starAt = p++;
      mark = t;
    } else if (token && one(token, text[t])) {
      p++;
      t++;
    } else if (starAt >= 0) {
      p = starAt + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < tokens.length && "star" in tokens[p]) p++;
  return p === tokens.length;
}

/**
 * Whether `pattern` covers `path` segment by segment (python-tuf `_is_target_in_pathpattern`).
 * @param {string} path
 * @param {string} pattern
 */
export function patternCovers(path, pattern) {
  const parts = path.split("/");
  const globs = pattern.split("/");
  return parts.length === globs.length && parts.every((part, i) => fnmatch(part, globs[i]));
}

/**
 * Whether a delegated role covers `path` (python-tuf `DelegatedRole.is_delegated_path`).
 * @param {import("./metadata.js").DelegatedRole} role
 * @param {string} path
 */
export async function roleCovers(role, path) {
  if (role.paths) return role.paths.some((pattern) => patternCovers(path, pattern));
  const digest = await sha256Hex(utf8(path));
  return (role.prefixes ?? []).some((prefix) => digest.startsWith(prefix));
}
