// tamizdat sw.js: generated from web/src/sw/worker.js by `npm run build` (do not edit).
"use strict";
(() => {
  var TamizdatError = class extends Error {
    constructor(message, options = {}) {
      const where = options.where ?? null;
      super(where ? `${where}: ${message}` : message);
      this.name = new.target.name;
      this.problem = message;
      this.where = where;
      this.hint = options.hint ?? null;
    }
  };
  var UntrustedContentError = class extends TamizdatError {
  };
  var BadSignatureError = class extends UntrustedContentError {
  };
  var RollbackError = class extends UntrustedContentError {
  };
  var TamperedError = class extends UntrustedContentError {
  };
  var MixAndMatchError = class extends UntrustedContentError {
  };
  var OversizeError = class extends UntrustedContentError {
  };
  var UnauthorizedPathError = class extends UntrustedContentError {
  };
  var LogForkError = class extends UntrustedContentError {
  };
  var ExpiredMetadataError = class extends UntrustedContentError {
  };
  var NotThisPublisherError = class extends UntrustedContentError {
  };
  var TransportError = class extends TamizdatError {
  };
  var MirrorResponseError = class extends TransportError {
  };
  var MissingFileError = class extends MirrorResponseError {
  };
  var InternalError = class extends TamizdatError {
  };
  var encoder = new TextEncoder();
  var strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  var asBuffer = (data) => data;
  var utf8 = (text) => encoder.encode(text);
  var decodeUtf8 = (data) => strict.decode(data);
  var toHex = (data) => Array.from(data, (b) => b.toString(16).padStart(2, "0")).join("");
  function fromHex(hex) {
    if (hex.length % 2 || /[^0-9a-fA-F]/.test(hex)) return null;
    const out = new Uint8Array(hex.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
    return out;
  }
  var DIGESTS = { sha256: "SHA-256", sha384: "SHA-384", sha512: "SHA-512" };
  async function digestHex(algorithm, data) {
    const name = DIGESTS[algorithm];
    if (!name) return null;
    return toHex(new Uint8Array(await crypto.subtle.digest(name, asBuffer(data))));
  }
  var sha256Hex = async (data) => await digestHex("sha256", data);
  async function matchesLengthAndHashes(data, length, hashes2) {
    if (length != null && data.length !== length) return false;
    for (const [algorithm, expected] of Object.entries(hashes2 ?? {})) {
      if (await digestHex(algorithm, data) !== expected) return false;
    }
    return true;
  }
  function compareCodePoints(a, b) {
    const x = Array.from(a, (c) => c.codePointAt(0));
    const y = Array.from(b, (c) => c.codePointAt(0));
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      if (x[i] !== y[i]) return x[i] - y[i];
    }
    return x.length - y.length;
  }
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
      const object2 = value;
      const keys2 = Object.keys(object2).sort(compareCodePoints);
      return `{${keys2.map((k) => `${encode(k)}:${encode(object2[k])}`).join(",")}}`;
    }
    throw new TypeError(`cannot encode a ${typeof value}`);
  }
  var canonicalBytes = (value) => utf8(encode(value));
  var ed25519Fallback = null;
  function setEd25519Fallback(verify) {
    ed25519Fallback = verify;
  }
  var HASHES = { sha256: "SHA-256", sha384: "SHA-384", sha512: "SHA-512" };
  var CURVES = { "ecdsa-sha2-nistp256": ["P-256", "SHA-256", 32], "ecdsa-sha2-nistp384": ["P-384", "SHA-384", 48], "ecdsa-sha2-nistp521": ["P-521", "SHA-512", 66] };
  function isSupportedKey(keytype, scheme) {
    if (keytype === "ed25519") return scheme === "ed25519";
    if (scheme in CURVES) return keytype === "ecdsa" || keytype === scheme;
    return keytype === "rsa" && /^(rsassa-pss|rsa-pkcs1v15)-sha(256|384|512)$/.test(scheme);
  }
  function pemBody(pem) {
    const match = /-----BEGIN PUBLIC KEY-----([A-Za-z0-9+/=\s]+)-----END PUBLIC KEY-----/.exec(pem);
    if (!match) return null;
    return Uint8Array.from(atob(match[1].replace(/\s+/g, "")), (c) => c.charCodeAt(0));
  }
  function derToRaw(der, size) {
    let at2 = 2;
    if (der[0] !== 48) return null;
    if (der[1] & 128) at2 += der[1] & 127;
    const out = new Uint8Array(2 * size);
    for (let part = 0; part < 2; part++) {
      if (der[at2] !== 2) return null;
      let length = der[at2 + 1];
      let start = at2 + 2;
      at2 = start + length;
      while (length > size && der[start] === 0) start++, length--;
      if (length > size || at2 > der.length) return null;
      out.set(der.subarray(start, start + length), (part + 1) * size - length);
    }
    return at2 === der.length ? out : null;
  }
  async function verifySignature(key, signatureHex, message) {
    const signature = fromHex(signatureHex);
    if (!signature) return false;
    try {
      if (key.keytype === "ed25519") {
        const raw = fromHex(key.public);
        if (!raw || raw.length !== 32) return false;
        let imported2;
        try {
          imported2 = await crypto.subtle.importKey("raw", asBuffer(raw), { name: "Ed25519" }, false, ["verify"]);
        } catch (error) {
          if (ed25519Fallback && error instanceof DOMException && error.name === "NotSupportedError") {
            return await ed25519Fallback(raw, signature, message);
          }
          throw error;
        }
        return await crypto.subtle.verify({ name: "Ed25519" }, imported2, asBuffer(signature), asBuffer(message));
      }
      const spki = pemBody(key.public);
      if (!spki) return false;
      const curve = CURVES[key.scheme];
      if (curve) {
        const [namedCurve, hash2, size] = curve;
        const raw = derToRaw(signature, size);
        if (!raw) return false;
        const imported2 = await crypto.subtle.importKey("spki", asBuffer(spki), { name: "ECDSA", namedCurve }, false, ["verify"]);
        return await crypto.subtle.verify({ name: "ECDSA", hash: hash2 }, imported2, raw, asBuffer(message));
      }
      const [, padding, digest] = /^(rsassa-pss|rsa-pkcs1v15)-(sha\d+)$/.exec(key.scheme);
      const hash = HASHES[digest];
      const name = padding === "rsassa-pss" ? "RSA-PSS" : "RSASSA-PKCS1-v1_5";
      const imported = await crypto.subtle.importKey("spki", asBuffer(spki), { name, hash }, false, ["verify"]);
      const params = { name, saltLength: Number(hash.slice(4)) / 8 };
      return await crypto.subtle.verify(params, imported, asBuffer(signature), asBuffer(message));
    } catch {
      return false;
    }
  }
  var TOP_LEVEL = ["root", "timestamp", "snapshot", "targets"];
  var ShapeError = class extends Error {
  };
  function need(ok, message) {
    if (!ok) throw new ShapeError(message);
  }
  var isObject = (value) => typeof value === "object" && value !== null && !Array.isArray(value);
  function object(value, what) {
    need(isObject(value), `${what} must be an object`);
    return value;
  }
  function string(value, what) {
    need(typeof value === "string", `${what} must be a string`);
    return value;
  }
  function integer(value, what, min = 0) {
    need(Number.isSafeInteger(value) && value >= min, `${what} must be an integer of at least ${min}`);
    return value;
  }
  function strings(value, what) {
    need(Array.isArray(value) && value.every((v) => typeof v === "string"), `${what} must be a list of strings`);
    return value;
  }
  function keyids(value, what) {
    const ids = strings(value, what);
    need(new Set(ids).size === ids.length, `${what} has duplicates`);
    return ids;
  }
  function hashes(value) {
    const map = object(value, "hashes");
    need(Object.keys(map).length > 0, "hashes must not be empty");
    for (const h of Object.values(map)) string(h, "a hash");
    return map;
  }
  var EXPIRES = /^(\d{4})-(1[0-2]|0[1-9]|[1-9])-(3[01]|[12]\d|0[1-9]|[1-9]| [1-9])T(2[0-3]|[01]\d|\d):([0-5]\d|\d):(6[01]|[0-5]\d|\d)Z$/;
  function parseExpires(value) {
    const match = EXPIRES.exec(string(value, "expires"));
    need(match, `expires must be YYYY-MM-DDTHH:MM:SSZ`);
    const [y, mo, d, h, mi, s] = match.slice(1).map(Number);
    const time = Date.UTC(y, mo - 1, d, h, mi, s);
    need(s < 60 && new Date(time).getUTCDate() === d && y > 0, "expires is not a date");
    return time;
  }
  function metaFile(value) {
    const meta = object(value, "a meta entry");
    return { version: integer(meta.version, "version", 1), length: meta.length == null ? null : integer(meta.length, "length"), hashes: meta.hashes == null ? null : hashes(meta.hashes) };
  }
  function keys(value) {
    const out = /* @__PURE__ */ new Map();
    for (const [id, raw] of Object.entries(object(value, "keys"))) {
      const key = object(raw, "a key");
      const keytype = string(key.keytype, "keytype");
      const scheme = string(key.scheme, "scheme");
      need(isSupportedKey(keytype, scheme), `unsupported public key ${keytype}/${scheme}`);
      out.set(id, { keytype, scheme, public: string(object(key.keyval, "keyval").public, "keyval.public") });
    }
    return out;
  }
  function delegations(value) {
    const raw = object(value, "delegations");
    need(raw.roles == null !== (raw.succinct_roles == null), "one of roles and succinct_roles must be set");
    let roles = null;
    let succinct = null;
    if (raw.roles != null) {
      need(Array.isArray(raw.roles), "roles must be a list");
      const names = /* @__PURE__ */ new Set();
      roles = raw.roles.map((item) => {
        const role = object(item, "a delegated role");
        const name = string(role.name, "name");
        need(name && !TOP_LEVEL.includes(name) && !names.has(name), `bad or duplicate role name ${name}`);
        names.add(name);
        need(typeof role.terminating === "boolean", "terminating must be a boolean");
        need(role.paths == null !== (role.path_hash_prefixes == null), "one of paths and path_hash_prefixes must be set");
        return { name, keyids: keyids(role.keyids, "keyids"), threshold: integer(role.threshold, "threshold", 1), terminating: role.terminating, paths: role.paths == null ? null : strings(role.paths, "paths"), prefixes: role.path_hash_prefixes == null ? null : strings(role.path_hash_prefixes, "path_hash_prefixes") };
      });
    } else {
      const s = object(raw.succinct_roles, "succinct_roles");
      const bitLength = integer(s.bit_length, "bit_length", 1);
      need(bitLength <= 32, "bit_length must be at most 32");
      succinct = { keyids: keyids(s.keyids, "keyids"), threshold: integer(s.threshold, "threshold", 1), bitLength, prefix: string(s.name_prefix, "name_prefix") };
    }
    return { keys: keys(raw.keys), roles, succinct };
  }
  function readSigned(signed, type) {
    const spec = string(signed.spec_version, "spec_version").split(".");
    need(spec.length >= 2 && spec.length <= 3 && spec.every((p) => /^\d+$/.test(p)) && spec[0] === "1", "unsupported spec_version");
    const common = { version: integer(signed.version, "version", 1), expires: parseExpires(signed.expires), signed };
    if (type === "root") {
      const roles = /* @__PURE__ */ new Map();
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
    const targets = /* @__PURE__ */ new Map();
    for (const [path, value] of Object.entries(object(signed.targets, "targets"))) {
      const target = object(value, "a target");
      targets.set(path, { length: integer(target.length, "length"), hashes: hashes(target.hashes) });
    }
    const dele = signed.delegations == null ? null : delegations(signed.delegations);
    return { ...common, type: "targets", targets, delegations: dele };
  }
  function parseMetadata(data, kind, where) {
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
    return md;
  }
  function readMetadata(data) {
    const document = object(JSON.parse(decodeUtf8(data)), "metadata");
    const signed = object(document.signed, "signed");
    const type = string(signed._type, "_type");
    need(TOP_LEVEL.includes(type), `unknown metadata type ${type}`);
    need(Array.isArray(document.signatures), "signatures must be a list");
    const signatures = /* @__PURE__ */ new Map();
    for (const item of document.signatures) {
      const sig = object(item, "a signature");
      const keyid = string(sig.keyid, "keyid");
      need(!signatures.has(keyid), `multiple signatures found for keyid ${keyid}`);
      signatures.set(keyid, string(sig.sig, "sig"));
    }
    return { signed: readSigned(signed, type), signatures };
  }
  function delegatedRole(delegator, name) {
    if (delegator.type === "root") {
      const role2 = delegator.roles.get(name);
      return role2 ? { role: role2, keys: delegator.keys } : null;
    }
    const dele = delegator.delegations;
    if (!dele) return null;
    const role = dele.roles ? dele.roles.find((r) => r.name === name) : dele.succinct && isBinName(dele.succinct, name) ? dele.succinct : null;
    return role ? { role, keys: dele.keys } : null;
  }
  function delegatedKeyids(delegator, name) {
    const found = delegatedRole(delegator, name);
    return found ? [...found.role.keyids].sort() : [];
  }
  async function verifySignatures(delegator, name, md, where) {
    const found = delegatedRole(delegator, name);
    if (!found) throw new BadSignatureError(`'${name}' is not a role that ${delegator.type} delegates to`, { where });
    const { role, keys: keys2 } = found;
    let payload = null;
    try {
      payload = canonicalBytes(md.signed.signed);
    } catch {
    }
    let valid = 0;
    for (const id of role.keyids) {
      const key = keys2.get(id);
      const sig = md.signatures.get(id);
      if (key && sig !== void 0 && payload && await verifySignature(key, sig, payload)) valid++;
    }
    if (valid >= role.threshold) return;
    const strangers = [...md.signatures.keys()].filter((id) => !role.keyids.includes(id)).length;
    const extra = strangers ? `, plus ${strangers} by keys not authorised for ${name}` : "";
    throw new BadSignatureError(`expected valid signatures by ${role.threshold} of the keys authorised for ${name}, found ${valid}${extra}`, { where, hint: "a key may have been revoked, or the file was signed by someone else" });
  }
  async function checkMetaFile(kind, meta, data, where, by) {
    if (await matchesLengthAndHashes(data, meta.length, meta.hashes)) return;
    let other = null;
    try {
      other = readMetadata(data).signed;
    } catch {
    }
    if (other && other.type === kind && other.version !== meta.version) {
      throw new MixAndMatchError(`expected ${kind} version ${meta.version} (named by ${by}), found version ${other.version}: metadata of different releases combined`, { where });
    }
    const named = meta.hashes ? JSON.stringify(meta.hashes) : "no hash";
    throw new TamperedError(`expected ${kind} metadata as signed by ${by} (${meta.length || "?"} bytes, ${named}), found ${data.length} bytes with sha256 ${await sha256Hex(data)}`, { where });
  }
  var suffixLength = (bitLength) => (2 ** bitLength - 1).toString(16).length;
  function isBinName(bins, name) {
    const suffix = name.slice(bins.prefix.length + 1);
    if (!name.startsWith(`${bins.prefix}-`) || suffix.length !== suffixLength(bins.bitLength)) return false;
    if (!/^[0-9a-fA-F]+$/.test(suffix)) return false;
    return parseInt(suffix, 16) < 2 ** bins.bitLength;
  }
  var binName = (bins, bin) => `${bins.prefix}-${bin.toString(16).padStart(suffixLength(bins.bitLength), "0")}`;
  async function binFor(bins, path) {
    const digest = await sha256Hex(utf8(path));
    const value = parseInt(digest.slice(0, 8), 16);
    return binName(bins, Math.floor(value / 2 ** (32 - bins.bitLength)));
  }
  var isExpired = (signed, now) => now >= signed.expires;
  var formatTime = (time) => new Date(time).toISOString().replace(/\.\d+Z$/, "Z");
  function tokenize(pattern) {
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
          tokens.push(negate ? { any: true } : { set: [], negate: false });
          continue;
        }
        const set = [];
        for (let k = 0; k < stuff.length; k++) {
          const lo = stuff[k].codePointAt(0);
          if (stuff[k + 1] === "-" && k + 2 < stuff.length) {
            const hi = stuff[k + 2].codePointAt(0);
            if (lo <= hi) set.push([lo, hi]);
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
  function one(token, c) {
    if ("any" in token) return true;
    if ("chars" in token) return token.chars === c;
    if ("set" in token) {
      const code = c.codePointAt(0);
      return token.set.some(([lo, hi]) => lo <= code && code <= hi) !== token.negate;
    }
    return false;
  }
  function fnmatch(name, pattern) {
    const tokens = tokenize(Array.from(pattern));
    const text = Array.from(name);
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
  function patternCovers(path, pattern) {
    const parts = path.split("/");
    const globs = pattern.split("/");
    return parts.length === globs.length && parts.every((part, i) => fnmatch(part, globs[i]));
  }
  async function roleCovers(role, path) {
    if (role.paths) return role.paths.some((pattern) => patternCovers(path, pattern));
    const digest = await sha256Hex(utf8(path));
    return (role.prefixes ?? []).some((prefix) => digest.startsWith(prefix));
  }
  var isBins = (delegation) => "bitLength" in delegation;
  async function covers(delegation, role, path) {
    if (isBins(delegation)) return await binFor(delegation, path) === role;
    return roleCovers(delegation, path);
  }
  var DelegationTree = class {
    constructor(maxRoles) {
      this.maxRoles = maxRoles;
      this.roles = /* @__PURE__ */ new Map();
      this.parents = /* @__PURE__ */ new Map();
      this.trusted = /* @__PURE__ */ new Set(["root\0targets"]);
    }
    add(role, targets, delegator, parent) {
      this.roles.set(role, targets);
      this.addEdge(role, delegator, parent);
    }
    addEdge(role, delegator, parent) {
      const key = `${delegator}\0${role}`;
      if (this.trusted.has(key)) return;
      this.trusted.add(key);
      if (parent.type !== "targets" || !parent.delegations) return;
      const dele = parent.delegations;
      const edges = this.parents.get(role) ?? [];
      this.parents.set(role, edges);
      const named = dele.roles ? dele.roles.filter((r) => r.name === role) : [];
      const bins = dele.succinct && isBinName(dele.succinct, role) ? [dele.succinct] : [];
      for (const delegation of dele.succinct ? bins : named) edges.push({ parent: delegator, delegation });
    }
    trusts(delegator, role) {
      return this.trusted.has(`${delegator}\0${role}`);
    }
    get edgeCount() {
      return this.trusted.size;
    }
    children(role) {
      const dele = this.roles.get(role).delegations;
      if (!dele) return [];
      if (dele.roles) return dele.roles.map((r) => [r.name, r.terminating]);
      const bins = dele.succinct;
      return Array.from({ length: 2 ** bins.bitLength }, (_, i) => [binName(bins, i), true]);
    }
    async authorized(role, path, seen = /* @__PURE__ */ new Set()) {
      if (role === "targets") return true;
      for (const edge of this.parents.get(role) ?? []) {
        if (seen.has(edge.parent) || !await covers(edge.delegation, role, path)) continue;
        if (await this.authorized(edge.parent, path, /* @__PURE__ */ new Set([...seen, role]))) return true;
      }
      return false;
    }
    async checkAuthorized(path) {
      for (const [role, targets] of this.roles) {
        if (targets.targets.has(path) && !await this.authorized(role, path)) {
          const patterns = (this.parents.get(role) ?? []).flatMap((edge) => "paths" in edge.delegation && edge.delegation.paths || []).sort();
          throw new UnauthorizedPathError(`role ${role} signed ${path}, outside the paths delegated to it (${patterns.join(", ") || "none"})`, { where: `${role}.json`, hint: "a desk can only sign its own section" });
        }
      }
    }
    async delegatesTo(role, path) {
      const dele = this.roles.get(role).delegations;
      if (!dele) return [];
      if (dele.succinct) return [[await binFor(dele.succinct, path), true]];
      const out = [];
      for (const r of dele.roles ?? []) if (await roleCovers(r, path)) out.push([r.name, r.terminating]);
      return out;
    }
    async resolve(path, load2) {
      let stack = [["targets", "root"]];
      const visited = /* @__PURE__ */ new Set();
      while (stack.length && visited.size <= this.maxRoles) {
        const [role, parent] = stack.pop();
        if (visited.has(role)) continue;
        if (!this.roles.has(role) || !this.trusts(parent, role)) {
          if (!load2) throw new InternalError(`role ${role} is not loaded through ${parent}; cannot resolve ${path}`);
          await load2(role, parent);
        }
        const listed = this.roles.get(role).targets.get(path);
        if (listed) return [role, listed];
        visited.add(role);
        const children = [];
        for (const [child, terminating] of await this.delegatesTo(role, path)) {
          children.push([child, role]);
          if (terminating) {
            stack = [];
            break;
          }
        }
        stack.push(...children.reverse());
      }
      return null;
    }
  };
  var noneSeen = () => ({ root: 0, timestamp: 0, snapshot: 0, roles: {}, timestamp_keys: [], snapshot_keys: [], log_head: null, role_keys: {} });
  var sameSet = (a, b) => [...a].sort().join() === [...b].sort().join();
  function forgetRotated(seen, root) {
    const ts = root.roles.get("timestamp").keyids;
    const sn = root.roles.get("snapshot").keyids;
    const rotated = seen.timestamp_keys.length && !sameSet(seen.timestamp_keys, ts) || seen.snapshot_keys.length && !sameSet(seen.snapshot_keys, sn);
    if (!rotated) return seen;
    return { ...noneSeen(), root: seen.root, log_head: seen.log_head };
  }
  function checkSnapshotVersions(trusted, next, floor, where) {
    if (next.version < floor) {
      throw new RollbackError(`expected snapshot version ${floor} or newer, found ${next.version}`, { where });
    }
    for (const [name, info] of trusted?.meta ?? []) {
      const listed = next.meta.get(name);
      if (!listed) throw new RollbackError(`${name} was removed from the snapshot`, { where });
      if (listed.version < info.version) {
        throw new RollbackError(`expected ${name} version ${info.version} or newer, snapshot v${next.version} names ${listed.version}`, { where });
      }
    }
  }
  var RoleFloors = class {
    constructor(seen) {
      this.seen = seen;
      this.keys = /* @__PURE__ */ new Map();
      this.rekeyed = /* @__PURE__ */ new Set();
    }
    check(role, meta, parent, snapshot, where) {
      const keys2 = delegatedKeyids(parent, role);
      this.keys.set(role, keys2);
      const seenKeys = Object.hasOwn(this.seen.role_keys, role) ? this.seen.role_keys[role] : null;
      if (seenKeys && seenKeys.join() !== keys2.join()) {
        this.rekeyed.add(role);
        return;
      }
      const floor = Object.hasOwn(this.seen.roles, role) ? this.seen.roles[role] : 0;
      if (meta.version < floor) {
        throw new RollbackError(`expected ${role}.json version ${floor} or newer, snapshot v${snapshot} names ${meta.version}`, { where });
      }
    }
    remember(root, timestamp, snapshot) {
      const seen = this.seen;
      const roles = Object.assign(/* @__PURE__ */ Object.create(null), seen.roles);
      for (const [name, info] of snapshot.meta) {
        const role = name.endsWith(".json") ? name.slice(0, -5) : name;
        const floor = this.rekeyed.has(role) || !Object.hasOwn(roles, role) ? 0 : roles[role];
        roles[role] = Math.max(floor, info.version);
      }
      const keyids2 = (name) => [...root.roles.get(name).keyids].sort();
      return { root: Math.max(root.version, seen.root), timestamp: Math.max(timestamp.version, seen.timestamp), snapshot: Math.max(snapshot.version, seen.snapshot), roles: sortedRecord(roles), timestamp_keys: keyids2("timestamp"), snapshot_keys: keyids2("snapshot"), log_head: seen.log_head, role_keys: sortedRecord({ ...Object.fromEntries(Object.entries(seen.role_keys)), ...Object.fromEntries(this.keys) }) };
    }
  };
  var sortedRecord = (record) => Object.fromEntries(Object.entries(record).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0));
  var KiB = 1024;
  var MiB = 1024 * KiB;
  var LIMITS = Object.freeze({ rootMaxBytes: 512 * KiB, timestampMaxBytes: 16 * KiB, snapshotMaxBytes: 8 * MiB, targetsMaxBytes: 32 * MiB, maxRootRotations: 256, maxDelegations: 4096, maxDelegationEdges: 16384 });
  var TrustPolicy = class _TrustPolicy {
    static async create(trustedRoot, options) {
      const md = parseMetadata(trustedRoot, "root", "trusted root");
      await verifySignatures(md.signed, "root", md, "trusted root");
      return new _TrustPolicy(md.signed, options);
    }
    constructor(root, options) {
      this.now = options.now;
      this.allowStale = options.allowStale ?? true;
      this.limits = options.limits ?? LIMITS;
      this.seen = options.seen ?? noneSeen();
      this.root = root;
      this.rootFinal = false;
      this.timestampSigned = null;
      this.snapshotSigned = null;
      this.tree = new DelegationTree(this.limits.maxDelegations);
      this.roleMetadata = /* @__PURE__ */ new Map();
      this.floors = new RoleFloors(this.seen);
      this.stale = /* @__PURE__ */ new Map();
    }
    get expires() {
      const all = [this.root, ...this.tree.roles.values(), this.timestampSigned, this.snapshotSigned];
      return Math.min(...all.flatMap((s) => s ? [s.expires] : []));
    }
    checkExpiry(role, signed, where) {
      this.stale.delete(role);
      if (!isExpired(signed, this.now)) return;
      if (!this.allowStale) {
        throw new ExpiredMetadataError(`${role} expired ${formatTime(signed.expires)}`, { where });
      }
      this.stale.set(role, signed.expires);
    }
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
    finalizeRoot(where) {
      if (this.root.version < this.seen.root) {
        throw new RollbackError(`expected root version ${this.seen.root} or newer (seen on this machine), found ${this.root.version}`, { where });
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
        throw new RollbackError(`expected timestamp version ${floorTs} or newer, found ${next.version}`, { where, hint: "this copy is older than one seen before; try another mirror" });
      }
      if (next.snapshotMeta.version < floorSn) {
        throw new RollbackError(`expected snapshot version ${floorSn} or newer, timestamp v${next.version} names ${next.snapshotMeta.version}`, { where });
      }
      this.timestampSigned = next;
      this.checkExpiry("timestamp", next, where);
      return true;
    }
    get snapshot() {
      if (!this.snapshotSigned) throw new InternalError("the snapshot is not loaded yet");
      return this.snapshotSigned;
    }
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
        throw new MixAndMatchError(`expected snapshot version ${meta.version} (named by timestamp v${this.timestamp.version}), found ${next.version}`, { where });
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
    delegator(role, delegator) {
      const parent = delegator === "root" ? this.root : this.tree.roles.get(delegator);
      if (!parent) throw new InternalError(`${role}: delegator ${delegator} is not loaded yet`);
      return parent;
    }
    roleMeta(role, delegator) {
      const snap = this.finalSnapshot();
      const meta = snap.meta.get(`${role}.json`);
      if (!meta) {
        throw new MixAndMatchError(`expected snapshot v${snap.version} to list ${role}.json (delegated by ${delegator}), found no entry`, { where: `${role}.json` });
      }
      return meta;
    }
    async updateDelegatedTargets(data, role, delegator, where) {
      const snap = this.finalSnapshot();
      const parent = this.delegator(role, delegator);
      if (this.tree.roles.has(role)) throw new InternalError(`${role} is loaded already: trust another edge to it instead`);
      const meta = this.roleMeta(role, delegator);
      const at2 = where ?? `${meta.version}.${role}.json`;
      this.floors.check(role, meta, parent, snap.version, at2);
      await checkMetaFile("targets", meta, data, at2, `snapshot v${snap.version}`);
      const md = parseMetadata(data, "targets", at2);
      await verifySignatures(parent, role, md, at2);
      if (md.signed.version !== meta.version) {
        throw new MixAndMatchError(`expected ${role} version ${meta.version} (named by snapshot v${snap.version}), found ${md.signed.version}`, { where: at2 });
      }
      this.checkExpiry(role, md.signed, at2);
      this.tree.add(role, md.signed, delegator, parent);
      this.roleMetadata.set(role, md);
      return md.signed;
    }
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
    async verifyTarget(path, data) {
      const found = await this.tree.resolve(path);
      if (!found) {
        await this.tree.checkAuthorized(path);
        throw new TamperedError(`${path} is not a file this publisher signed`, { where: path });
      }
      const [role, info] = found;
      if (!await matchesLengthAndHashes(data, info.length, info.hashes)) {
        throw new TamperedError(`${path} differs from the signed copy (role ${role}): expected ${info.length} bytes with sha256 ${info.hashes.sha256 ?? "?"}, found ${data.length} bytes with sha256 ${await sha256Hex(data)}`, { where: path });
      }
      return info;
    }
    seenAfter() {
      return this.floors.remember(this.root, this.timestamp, this.snapshot);
    }
  };
  var WELL_KNOWN = ".well-known/tamizdat";
  var METADATA_DIR = `${WELL_KNOWN}/metadata`;
  var TARGETS_DIR = `${WELL_KNOWN}/targets`;
  var LOG_JSON = `${WELL_KNOWN}/log.json`;
  var LOG_DIR = `${WELL_KNOWN}/log`;
  function byHashPath(path, sha256) {
    const slash = path.lastIndexOf("/");
    const directory = slash >= 0 ? `${path.slice(0, slash)}/` : "";
    return `${TARGETS_DIR}/${directory}${sha256}.${path.slice(slash + 1)}`;
  }
  var metadataPath = (role, version) => `${METADATA_DIR}/${version == null ? "" : `${version}.`}${role}.json`;
  var logEntryPath = (index) => `${LOG_DIR}/${index}.json`;
  var MIRRORS_JSON = `${WELL_KNOWN}/mirrors.json`;
  var LOG_LIMITS = Object.freeze({ entryMaxBytes: 2 * 4096 + 1024, maxEntries: 1e6 });
  var HEX64 = /^[0-9a-f]{64}$/;
  var TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
  var ENTRY_KEYS = "index,paths,previous,snapshot_sha256,time,version";
  function json(data, where, what) {
    try {
      return JSON.parse(decodeUtf8(data));
    } catch (error) {
      throw new TamperedError(`expected ${what}, found: ${error instanceof Error ? error.message : error}`, { where });
    }
  }
  var isRecord = (value) => typeof value === "object" && value !== null && !Array.isArray(value);
  function parseHead(data, where) {
    const document = json(data, where, "a JSON publication log head");
    if (!isRecord(document) || document.format !== "tamizdat-log") {
      throw new TamperedError("expected a document with format 'tamizdat-log'", { where });
    }
    if (document.spec_version !== 2) {
      throw new TamperedError(`expected log spec_version 2, found ${JSON.stringify(document.spec_version)}`, { where });
    }
    const head = document.head;
    if (!isRecord(head) || Object.keys(head).sort().join() !== "hash,index,path") {
      throw new TamperedError("expected 'head' with keys hash, index, path", { where });
    }
    const { index, hash } = head;
    if (!Number.isSafeInteger(index) || index < -1) {
      throw new TamperedError(`expected a head index of -1 or more, found ${JSON.stringify(index)}`, { where });
    }
    const empty = index === -1;
    if (typeof hash !== "string" || !(empty ? hash === "" : HEX64.test(hash))) {
      throw new TamperedError(`expected a head hash, found ${JSON.stringify(hash)}`, { where });
    }
    if (head.path !== (empty ? "" : logEntryPath(index))) {
      throw new TamperedError(`expected the head path of entry ${index}`, { where });
    }
    return { index, hash };
  }
  function checkPaths(value, where) {
    if (!isRecord(value)) throw new TamperedError("expected path lists with keys ['added', 'changed', 'removed']", { where });
    const keys2 = Object.keys(value).sort().join();
    if (keys2 === "counts,length,sha256") {
      const { counts, length, sha256 } = value;
      const ok = Array.isArray(counts) && counts.length === 3 && counts.every((c) => Number.isSafeInteger(c) && c >= 0) && Number.isSafeInteger(length) && length > 4096 && typeof sha256 === "string" && HEX64.test(sha256);
      if (!ok) throw new TamperedError("expected 'paths' to reference a lists file", { where });
      return;
    }
    if (keys2 !== "added,changed,removed") {
      throw new TamperedError("expected path lists with keys ['added', 'changed', 'removed']", { where });
    }
    for (const key of ["added", "changed", "removed"]) {
      const list = value[key];
      if (!Array.isArray(list) || !list.every((p) => typeof p === "string")) {
        throw new TamperedError(`expected '${key}' to be a list of paths`, { where });
      }
      const sorted = [...new Set(list)].sort(compareCodePoints);
      if (sorted.length !== list.length || sorted.some((p, i) => p !== list[i])) {
        throw new TamperedError(`expected '${key}' sorted without duplicates`, { where });
      }
    }
  }
  function readEntry(raw, hash, where) {
    if (!isRecord(raw) || Object.keys(raw).sort().join() !== ENTRY_KEYS) {
      throw new TamperedError(`expected an entry with keys [${ENTRY_KEYS}]`, { where });
    }
    for (const key of ["index", "version"]) {
      if (!Number.isSafeInteger(raw[key]) || raw[key] < 0) {
        throw new TamperedError(`expected '${key}' to be a non-negative integer`, { where });
      }
    }
    if (typeof raw.time !== "string" || !TIME.test(raw.time)) {
      throw new TamperedError(`expected 'time' as YYYY-MM-DDTHH:MM:SSZ, found ${JSON.stringify(raw.time)}`, { where });
    }
    if (typeof raw.snapshot_sha256 !== "string" || !HEX64.test(raw.snapshot_sha256)) {
      throw new TamperedError("expected 'snapshot_sha256' to be a sha256 hex digest", { where });
    }
    const previous = raw.previous;
    if (typeof previous !== "string" || previous && !HEX64.test(previous)) {
      throw new TamperedError("expected 'previous' to be a sha256 hex digest or ''", { where });
    }
    if (raw.index === 0 !== (previous === "")) {
      throw new LogForkError(`expected previous = '' exactly for entry 0, found ${previous || "(empty)"} at index ${raw.index}`, { where, hint: "the log's hash chain is broken: history was rewritten" });
    }
    checkPaths(raw.paths, where);
    return { index: raw.index, version: raw.version, time: raw.time, snapshot_sha256: raw.snapshot_sha256, previous, hash };
  }
  async function checkChainFile(data, sha256, where) {
    const digest = await sha256Hex(data);
    if (digest !== sha256) {
      throw new TamperedError(`expected the bytes the log chain names (sha256 ${sha256}), found sha256 ${digest}`, { where, hint: "this copy altered the publication log" });
    }
    return data;
  }
  async function fetchChain(head, fetch, { first, where, source }) {
    if (head.index < 0) return [];
    first = Math.max(0, Math.min(first, head.index));
    if (head.index - first + 1 > LOG_LIMITS.maxEntries) {
      throw new OversizeError(`expected at most ${LOG_LIMITS.maxEntries} log entries to check, found ${head.index - first + 1}`, { where });
    }
    const entries = [];
    let expected = head.hash;
    for (let index = head.index; index >= first; index--) {
      const path = byHashPath(logEntryPath(index), expected);
      const location = source ? `${source}: ${path}` : path;
      const data = await checkChainFile(await fetch(path, LOG_LIMITS.entryMaxBytes), expected, location);
      const entry = readEntry(json(data, location, "a JSON log entry"), expected, location);
      if (entry.index !== index) throw new LogForkError(`expected index ${index}, found ${entry.index}`, { where: location });
      const last = entries[entries.length - 1];
      if (last && entry.version >= last.version) {
        throw new LogForkError(`expected a version below ${last.version}, found ${entry.version}`, { where: `${where}: ${logEntryPath(index)}` });
      }
      entries.push(entry);
      expected = entry.previous;
    }
    return entries.reverse();
  }
  function extendsHead(entries, index, hash) {
    if (index === -1) return hash === "";
    if (!entries.length) return false;
    const first = entries[0].index;
    if (index === first - 1) return entries[0].previous === hash;
    if (index < first || index > entries[entries.length - 1].index) return false;
    return entries[index - first].hash === hash;
  }
  async function checkLog(head, fetch, { seen, where, source, snapshotVersion, snapshotSha256 }) {
    if (seen && head.index < seen[0]) {
      throw new RollbackError(`expected a publication log of at least ${seen[0] + 1} entries (seen on this machine), found ${head.index + 1}`, { where });
    }
    const first = seen ? seen[0] + 1 : head.index;
    const entries = await fetchChain(head, fetch, { first, where, source });
    if (seen && !extendsHead(entries, seen[0], seen[1])) {
      throw new LogForkError(`expected the log to extend entry ${seen[0]} with hash ${seen[1]}, found a log that does not`, { where, hint: "this copy rewrites the publisher's history; do not trust it" });
    }
    const last = entries[entries.length - 1];
    if (last && last.version > snapshotVersion) {
      throw new MixAndMatchError(`expected a log ending at release ${snapshotVersion} or before, found release ${last.version}`, { where });
    }
    if (last && last.version === snapshotVersion && last.snapshot_sha256 !== snapshotSha256) {
      throw new LogForkError(`expected log entry ${last.index} to name snapshot sha256 ${snapshotSha256}, found ${last.snapshot_sha256}`, { where });
    }
    return entries;
  }
  function releaseEntry(entries, version, snapshotSha256) {
    return [...entries].reverse().find((e) => e.version === version && e.snapshot_sha256 === snapshotSha256) ?? null;
  }
  var NO_COPY = { name: "no kept copy", metadata: async () => null, latest: async () => null, object: async () => null, keep: async () => {
  } };
  var untrusted = (error) => {
    if (error instanceof UntrustedContentError) return error;
    throw error;
  };
  var ClientWorkflow = class {
    constructor(fetcher, options) {
      this.fetcher = fetcher;
      this.options = options;
      this.fingerprint = options.fingerprint ?? null;
      this.limits = options.limits ?? LIMITS;
      this.copy = options.copy ?? NO_COPY;
      this.metadata = /* @__PURE__ */ new Map();
      this.timestampSource = null;
      this.origins = /* @__PURE__ */ new Map();
      this.trust = null;
      this.snapshotBytes = new Uint8Array(0);
    }
    get policy() {
      if (!this.trust) throw new TransportError("the workflow has not loaded a root yet");
      return this.trust;
    }
    newPolicy(data) {
      const { now, allowStale, seen } = this.options;
      return TrustPolicy.create(data, { now, allowStale, seen, limits: this.limits });
    }
    async pinned(data, where) {
      const found = await sha256Hex(data);
      if (this.fingerprint != null && found !== this.fingerprint) {
        throw new NotThisPublisherError(`expected the root with fingerprint ${this.fingerprint}, found ${found}`, { where, hint: "this copy was signed by someone else (or the fingerprint was mistyped)" });
      }
      await this.newPolicy(data);
      return data;
    }
    async loadRoot() {
      let policy;
      if (this.options.trustedRoot) {
        policy = await this.newPolicy(this.options.trustedRoot);
      } else {
        const path = metadataPath("root", 1);
        const kept = await this.copy.metadata("root", 1);
        let first = null;
        if (kept) first = await this.pinned(kept, `${this.copy.name}: ${path}`).catch((e) => (untrusted(e), null));
        first ??= await this.fetcher.fetchChecked(path, this.limits.rootMaxBytes, (d, w) => this.pinned(d, w));
        this.metadata.set("1.root.json", first);
        this.fingerprint ??= await sha256Hex(first);
        policy = await this.newPolicy(first);
      }
      this.trust = policy;
      let fetched = 0;
      for (; ; ) {
        const version = policy.root.version + 1;
        const name = `${version}.root.json`;
        const kept = await this.copy.metadata("root", version);
        if (kept) {
          try {
            await policy.updateRoot(kept, `${this.copy.name}: ${name}`);
            this.metadata.set(name, kept);
            continue;
          } catch (error) {
            untrusted(error);
          }
        }
        let data;
        try {
          data = await this.fetcher.fetchChecked(metadataPath("root", version), this.limits.rootMaxBytes, async (d, where) => {
            if (fetched >= this.limits.maxRootRotations) {
              throw new OversizeError(`expected at most ${this.limits.maxRootRotations} root rotations in one update, found more`, { where, hint: "a verified copy of a newer root (a store or bundle) shortens the chain" });
            }
            await policy.updateRoot(d, where);
            return d;
          }, { probe: true });
        } catch (error) {
          if (error instanceof MissingFileError) return policy;
          throw error;
        }
        fetched++;
        this.metadata.set(name, data);
        await this.copy.keep("root", version, data);
      }
    }
    async updateTimestamp(quorum = 1) {
      const policy = this.policy;
      const path = metadataPath("timestamp", null);
      const kept = await this.copy.latest("timestamp");
      if (kept) {
        try {
          await policy.updateTimestamp(kept, `${this.copy.name}: ${path}`);
          this.metadata.set("timestamp.json", kept);
        } catch (error) {
          untrusted(error);
        }
      }
      const answers = await this.fetcher.gather(path, this.limits.timestampMaxBytes, quorum);
      const errors = [];
      let newer = false;
      for (const [source, data] of answers) {
        try {
          if (await policy.updateTimestamp(data, `${source}: ${path}`)) {
            this.metadata.set("timestamp.json", data);
            this.timestampSource = source;
            newer = true;
          }
          this.timestampSource ??= source;
        } catch (error) {
          errors.push(untrusted(error));
          this.fetcher.refused(source, path, error);
        }
      }
      if (this.timestampSource == null) {
        if (errors.length) throw errors[errors.length - 1];
        throw new TransportError(`expected ${path} from at least one source, got none`, { where: this.fetcher.name, hint: "add more mirrors, import a bundle, or try again later" });
      }
      this.fetcher.prefer(this.timestampSource);
      if (newer) await this.copy.keep("timestamp", null, this.metadata.get("timestamp.json"));
    }
    async updateSnapshot() {
      const policy = this.policy;
      const meta = policy.timestamp.snapshotMeta;
      const version = policy.root.consistentSnapshot ? meta.version : null;
      const name = `${meta.version}.snapshot.json`;
      const kept = await this.copy.latest("snapshot");
      if (kept) {
        try {
          await policy.updateSnapshot(kept, { where: `${this.copy.name}: ${name}`, trusted: true });
          this.snapshotBytes = kept;
          this.metadata.set(name, kept);
          return;
        } catch (error) {
          untrusted(error);
        }
      }
      const cap = Math.min(meta.length || this.limits.snapshotMaxBytes, this.limits.snapshotMaxBytes);
      const data = await this.fetcher.fetchChecked(metadataPath("snapshot", version), cap, async (d, where) => {
        await policy.updateSnapshot(d, { where });
        return d;
      });
      this.snapshotBytes = data;
      this.metadata.set(name, data);
      await this.copy.keep("snapshot", version, data);
    }
    async refresh(quorum = 1) {
      const policy = await this.loadRoot();
      await this.updateTimestamp(quorum);
      await this.updateSnapshot();
      await this.loadDelegation("targets", "root");
      return policy;
    }
    async loadDelegation(role, delegator) {
      const policy = this.policy;
      if (policy.tree.roles.has(role)) return policy.trustDelegation(role, delegator);
      const meta = policy.roleMeta(role, delegator);
      const version = policy.root.consistentSnapshot ? meta.version : null;
      const name = `${meta.version}.${role}.json`;
      const kept = await this.copy.metadata(role, version);
      if (kept) {
        try {
          await policy.updateDelegatedTargets(kept, role, delegator, `${this.copy.name}: ${name}`);
          this.metadata.set(name, kept);
          return;
        } catch (error) {
          untrusted(error);
        }
      }
      const cap = Math.min(meta.length || this.limits.targetsMaxBytes, this.limits.targetsMaxBytes);
      const data = await this.fetcher.fetchChecked(metadataPath(role, version), cap, async (d, where) => {
        await policy.updateDelegatedTargets(d, role, delegator, where);
        return d;
      });
      this.metadata.set(name, data);
      await this.copy.keep(role, version, data);
    }
    resolve(path) {
      return this.policy.tree.resolve(path, (role, delegator) => this.loadDelegation(role, delegator));
    }
    async fetchTarget(path, info, options = {}) {
      let location = options.location;
      if (location == null) {
        const sha = info.hashes.sha256;
        if (!sha) throw new TamperedError(`${path} is signed without a sha256 hash`, { where: this.fetcher.name });
        location = byHashPath(path, sha);
      }
      const kept = await this.copy.object(location);
      if (kept && await matchesLengthAndHashes(kept, info.length, info.hashes)) {
        if (!this.origins.has(location)) this.origins.set(location, `${this.copy.name}: ${location}`);
        return kept;
      }
      const data = await this.fetchSigned(path, location, info);
      if (options.natural) await this.fetchSigned(path, path, info);
      return data;
    }
    async fetchSigned(path, location, info) {
      try {
        return await this.fetcher.fetchChecked(location, info.length, async (data, where) => {
          if (!await matchesLengthAndHashes(data, info.length, info.hashes)) {
            throw new TamperedError(`${path} differs from the signed copy: expected ${info.length} bytes with sha256 ${info.hashes.sha256 ?? "?"}, found ${data.length} bytes with sha256 ${await sha256Hex(data)}`, { where });
          }
          this.origins.set(location, where);
          return data;
        });
      } catch (error) {
        const where = error instanceof MissingFileError || error instanceof OversizeError ? at(error.where ?? this.fetcher.name, location) : null;
        if (error instanceof MissingFileError) throw new TamperedError(`${path}: the signed file is missing from the source`, { where });
        if (error instanceof OversizeError) throw new OversizeError(`${path}: expected the signed ${info.length} bytes, found more (endless data)`, { where });
        throw error;
      }
    }
    async checkLog(headBytes) {
      const headPath = byHashPath(LOG_JSON, await sha256Hex(headBytes));
      const where = this.origins.get(headPath) ?? `${this.fetcher.name}: ${LOG_JSON}`;
      const head = parseHead(headBytes, where);
      return checkLog(head, (byHash, cap) => this.logFile(byHash, cap), { seen: this.options.seen?.log_head ?? null, where, source: this.fetcher.name, snapshotVersion: this.policy.snapshot.version, snapshotSha256: await sha256Hex(this.snapshotBytes) });
    }
    async logFile(byHash, cap) {
      const expected = byHash.slice(byHash.lastIndexOf("/") + 1).split(".")[0];
      const kept = await this.copy.object(byHash);
      if (kept && kept.length <= cap && await sha256Hex(kept) === expected) return kept;
      try {
        return await this.fetcher.fetchChecked(byHash, cap, (data, where) => checkChainFile(data, expected, where));
      } catch (error) {
        if (error instanceof MissingFileError) {
          throw new TamperedError("expected this publication-log file, found none", { where: `${this.fetcher.name}: ${byHash}` });
        }
        throw error;
      }
    }
  };
  var at = (where, location) => where.includes(location) ? where : `${where}: ${location}`;
  var oversize = (path, maxLength, where) => new OversizeError(`expected at most ${maxLength} bytes for ${path}, found more`, { where });
  function expectedType(path) {
    if (!path.startsWith(`${METADATA_DIR}/`) || !path.endsWith(".json")) return null;
    const name = path.slice(METADATA_DIR.length + 1);
    if (/^\d+\.root\.json$/.test(name) || name === "root.json") return "root";
    if (name === "timestamp.json") return "timestamp";
    if (/^\d+\.snapshot\.json$/.test(name) || name === "snapshot.json") return "snapshot";
    return "targets";
  }
  function checkMetadataShape(path, data, where) {
    const expected = expectedType(path);
    if (!expected) return;
    let document = null;
    try {
      document = JSON.parse(decodeUtf8(data));
    } catch {
    }
    const signed = document && typeof document === "object" ? document.signed : null;
    const found = signed && typeof signed === "object" ? signed._type : null;
    if (found === expected && Array.isArray(document.signatures)) return;
    throw new MissingFileError(`expected ${expected} metadata for ${path}, found ${typeof found === "string" ? `${found} metadata` : "no metadata"}; taken as missing (a page served in place of a file the mirror does not have)`, { where });
  }
  async function readCapped(response, maxLength, path, where, progress = () => {
  }) {
    const declared = Number(response.headers.get("content-length") ?? NaN);
    if (declared > maxLength) throw oversize(path, maxLength, where);
    if (!response.body) return new Uint8Array(0);
    const reader = response.body.getReader();
    const chunks = [];
    let total = 0;
    for (; ; ) {
      const { done, value } = await reader.read();
      if (done) break;
      progress();
      total += value.length;
      if (total > maxLength) {
        await reader.cancel();
        throw oversize(path, maxLength, where);
      }
      chunks.push(value);
    }
    const out = new Uint8Array(total);
    let at2 = 0;
    for (const chunk of chunks) out.set(chunk, at2), at2 += chunk.length;
    return out;
  }
  var HttpSource = class {
    constructor(baseUrl, options = {}) {
      this.base = new URL(baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`);
      this.name = options.name ?? this.base.href;
      this.remote = true;
      this.timeoutMs = options.timeoutMs ?? 3e4;
      this.stallMs = options.stallMs ?? 0;
      this.fetcher = options.fetch ?? globalThis.fetch.bind(globalThis);
    }
    async fetchUrl(url, maxLength, path = url, signal) {
      const target = new URL(url, this.base);
      const stall = new AbortController();
      let timer;
      const progress = () => {
        clearTimeout(timer);
        if (this.stallMs) timer = setTimeout(() => stall.abort(new Error(`stalled: no progress for ${this.stallMs} ms`)), this.stallMs);
      };
      const signals = [AbortSignal.timeout(this.timeoutMs), stall.signal, ...signal ? [signal] : []];
      progress();
      try {
        return await this.fetchSignalled(target, maxLength, path, AbortSignal.any(signals), progress);
      } catch (error) {
        if (stall.signal.aborted && !(error instanceof MissingFileError)) {
          throw new TransportError(`abandoned ${path}: ${stall.signal.reason.message}`, { where: target.href });
        }
        throw error;
      } finally {
        clearTimeout(timer);
      }
    }
    async fetchSignalled(target, maxLength, path, signal, progress) {
      let response;
      try {
        response = await this.fetcher(target.href, { redirect: "follow", signal, cache: "no-store" });
      } catch (error) {
        throw new TransportError(`cannot fetch ${path}: ${error instanceof Error ? error.message : error}`, { where: target.href });
      }
      progress();
      const where = response.url || target.href;
      if (new URL(where).origin !== this.base.origin) {
        await response.body?.cancel();
        throw new MirrorResponseError(`refused a redirect of ${target.href} to ${where}: outside this mirror`, { where: target.href });
      }
      if ([403, 404, 410].includes(response.status)) {
        await response.body?.cancel();
        throw new MissingFileError(`no file ${path} (HTTP ${response.status})`, { where });
      }
      if (!response.ok) {
        await response.body?.cancel();
        throw new MirrorResponseError(`expected HTTP 200 for ${path}, found ${response.status}`, { where });
      }
      try {
        const data = await readCapped(response, maxLength, path, where, progress);
        checkMetadataShape(path, data, where);
        return data;
      } catch (error) {
        if (error instanceof MissingFileError || error instanceof OversizeError) throw error;
        throw new TransportError(`reading ${path} failed: ${error instanceof Error ? error.message : error}`, { where });
      }
    }
    fetch(path, maxLength, signal) {
      return this.fetchUrl(path.split("/").map(encodeURIComponent).join("/"), maxLength, path, signal);
    }
  };
  var SourceFetcher = class {
    constructor(source) {
      this.source = source;
      this.name = source.name;
    }
    async fetchChecked(path, maxLength, check) {
      let data;
      try {
        data = await this.source.fetch(path, maxLength);
      } catch (error) {
        if (error instanceof MirrorResponseError && !(error instanceof MissingFileError) && !this.source.remote) {
          throw new MissingFileError(error.problem, { where: error.where });
        }
        throw error;
      }
      return check(data, `${this.name}: ${path}`);
    }
    async gather(path, maxLength) {
      return [[this.name, await this.fetchChecked(path, maxLength, (d) => d)]];
    }
    refused() {
    }
    prefer() {
    }
  };
  var LazyRelease = class _LazyRelease {
    constructor(workflow) {
      this.workflow = workflow;
    }
    static async open(from, options) {
      const fetcher = "fetchChecked" in from ? from : new SourceFetcher(from);
      const workflow = new ClientWorkflow(fetcher, options);
      await workflow.refresh();
      return new _LazyRelease(workflow);
    }
    get stale() {
      return this.workflow.policy.stale.size > 0;
    }
    async read(path) {
      const found = await this.workflow.resolve(path);
      if (!found) return null;
      const [role, info] = found;
      if (!await this.workflow.policy.tree.authorized(role, path)) await this.workflow.policy.tree.checkAuthorized(path);
      return this.workflow.fetchTarget(path, info);
    }
    async published() {
      const head = await this.read(LOG_JSON);
      if (!head) return { log: [], entry: null };
      const log = await this.workflow.checkLog(head);
      const policy = this.workflow.policy;
      const entry = releaseEntry(log, policy.snapshot.version, await sha256Hex(this.workflow.snapshotBytes));
      return { log, entry };
    }
  };
  var mostTelling = (errors) => errors.find((e) => e instanceof UntrustedContentError) ?? errors.find((e) => !(e instanceof MissingFileError)) ?? errors[0];
  var RacePool = class {
    constructor(sources2, options) {
      this.sources = [...sources2];
      this.hedgeMs = options.hedgeMs;
      this.quorum = options.quorum ?? 3;
      this.onRefused = options.onRefused ?? (() => {
      });
      this.name = sources2.map((s) => s.name).join(", ");
      this.refusals = [];
      this.slow = /* @__PURE__ */ new Set();
    }
    fetchChecked(path, maxLength, check, options = {}) {
      const sources2 = [...this.sources];
      const stop = new AbortController();
      const errors = [];
      let next = 0;
      let running = 0;
      let done = false;
      return new Promise((resolve, reject) => {
        const finish = (settle) => {
          done = true;
          stop.abort();
          settle();
        };
        const start = () => {
          if (done || next >= sources2.length) return;
          const source = sources2[next++];
          running++;
          const hedge = setTimeout(() => (this.slowed(source.name), start()), this.hedgeMs);
          const attempt = async () => check(await source.fetch(path, maxLength, stop.signal), `${source.name}: ${path}`);
          attempt().then((value) => {
            clearTimeout(hedge);
            this.slow.delete(source.name);
            running--;
            if (!done) finish(() => resolve(value));
          }, (error) => {
            clearTimeout(hedge);
            running--;
            if (done) return;
            if (error instanceof UntrustedContentError) this.refused(source.name, path, error);
            else if (!(error instanceof TransportError)) return finish(() => reject(error));
            if (options.probe && error instanceof MissingFileError) return finish(() => reject(error));
            errors.push(error);
            if (next < sources2.length) start();
            else if (running === 0) finish(() => reject(mostTelling(errors)));
          });
        };
        if (!sources2.length) reject(new TransportError(`no source for ${path}`));
        start();
      });
    }
    async gather(path, maxLength, requested) {
      const count = Math.max(requested, this.quorum);
      const answers = [];
      const first = this.fetchChecked(path, maxLength, (data, where) => {
        answers.push([where.slice(0, where.lastIndexOf(`: ${path}`)), data]);
        return data;
      });
      await first;
      if (answers.length < count) {
        const asked = (name) => answers.some(([answered]) => answered === name);
        const rest = this.sources.filter((s) => !asked(s.name) && !this.slow.has(s.name)).slice(0, count - answers.length);
        const late = AbortSignal.timeout(this.hedgeMs);
        await Promise.all(rest.map(async (source) => {
          try {
            answers.push([source.name, await source.fetch(path, maxLength, late)]);
          } catch {
          }
        }));
      }
      return answers;
    }
    refused(source, path, error) {
      const refusal = { source, path, older: error instanceof RollbackError };
      this.refusals.push(refusal);
      this.onRefused(refusal);
      const at2 = this.sources.findIndex((s) => s.name === source);
      if (at2 >= 0) this.sources.push(...this.sources.splice(at2, 1));
    }
    slowed(source) {
      this.slow.add(source);
      const at2 = this.sources.findIndex((s) => s.name === source);
      if (at2 >= 0) this.sources.push(...this.sources.splice(at2, 1));
    }
    prefer(source) {
      const at2 = this.sources.findIndex((s) => s.name === source);
      if (at2 > 0) this.sources.unshift(...this.sources.splice(at2, 1));
    }
  };
  var DB = "tamizdat";
  var KV = "kv";
  var OBJECTS = "tamizdat-objects";
  var opened = null;
  function database() {
    opened ??= new Promise((resolve, reject) => {
      const request = indexedDB.open(DB, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(KV);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    return opened;
  }
  async function run(mode, act) {
    const db = await database();
    return new Promise((resolve, reject) => {
      const request = act(db.transaction(KV, mode).objectStore(KV));
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }
  var load = (key) => run("readonly", (s) => s.get(key));
  var save = (key, value) => run("readwrite", (s) => s.put(value, key));
  var objectUrl = (byHash) => new URL(`/${byHash}`, self.location.href).href;
  async function cachedObject(byHash) {
    const found = await (await caches.open(OBJECTS)).match(objectUrl(byHash));
    return found ? new Uint8Array(await found.arrayBuffer()) : null;
  }
  async function cacheObject(byHash, data) {
    await (await caches.open(OBJECTS)).put(objectUrl(byHash), new Response(data));
  }
  var KEPT = { name: "this browser's verified copy", metadata: (role, version) => load(`meta:${version ?? "latest"}.${role}`).then((v) => v ?? null), latest: (role) => load(`meta:latest.${role}`).then((v) => v ?? null), object: cachedObject, keep: async (role, version, data) => {
    await save(`meta:${version ?? "latest"}.${role}`, data);
    if (role === "timestamp" || role === "snapshot") await save(`meta:latest.${role}`, data);
  } };
  var MARKER = /(<p class="tz-status")([^>]*)>(<!--tz-status-->)[\s\S]*?(<!--\/tz-status-->)/;
  var ENTITIES = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'", "&#34;": '"' };
  var escapeHtml = (text) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  var unescapeHtml = (text) => text.replace(/&(amp|lt|gt|quot|#39|#34);/g, (e) => ENTITIES[e]);
  function formatDate(iso, lang) {
    if (!iso) return "?";
    const options = { dateStyle: "long", timeStyle: "short", timeZone: "UTC" };
    try {
      return new Intl.DateTimeFormat(lang, options).format(new Date(iso));
    } catch {
      return new Intl.DateTimeFormat("en", options).format(new Date(iso));
    }
  }
  function rewriteStatus(html, status) {
    const lang = /<html[^>]*\slang="([^"]+)"/.exec(html)?.[1] ?? "en";
    return html.replace(MARKER, (_all, open, attributes, start, end) => {
      const texts = {};
      for (const [, key, value] of attributes.matchAll(/\sdata-tz-(\w+)="([^"]*)"/g)) texts[key] = unescapeHtml(value);
      const values = { release: String(status.release), date: formatDate(status.published, lang), since: formatDate(status.since, lang), mirror: status.refused ?? "", shown: status.shown };
      const text = (key) => (texts[key] ?? "").replace(/\{(\w+)\}/g, (m, name) => values[name] ?? m);
      let line = text(status.state);
      if (status.refused) line += ` — ${text("refused")}`;
      return `${open}${attributes} data-tz-state="${status.state}${status.refused ? " refused" : ""}">${start}${escapeHtml(line)}${end}`;
    });
  }
  var CONFIG = self.TAMIZDAT;
  var worker = self;
  var HEDGE_MS = 700;
  var STALL_MS = 4e3;
  var FRESH_MS = 3e4;
  var FALLBACK = "assets/tz-ed25519.js";
  var OWN = new URL("/", self.location.href).href;
  var TYPES = { html: "text/html; charset=utf-8", css: "text/css; charset=utf-8", js: "text/javascript; charset=utf-8", json: "application/json", xml: "application/xml", txt: "text/plain; charset=utf-8", svg: "image/svg+xml", png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", webp: "image/webp", avif: "image/avif", gif: "image/gif", ico: "image/x-icon", woff2: "font/woff2", woff: "font/woff", pdf: "application/pdf", mp3: "audio/mpeg", ogg: "audio/ogg", mp4: "video/mp4", webm: "video/webm", m4a: "audio/mp4" };
  var current = null;
  var refreshing = null;
  var fingerprint = async () => await load("anchor") ?? CONFIG.anchor;
  var isHttp = (value) => typeof value === "string" && /^https?:\/\/[^\s]+$/.test(value);
  async function sources() {
    const listed = await load("mirrors") ?? [];
    const demoted = await load("demoted") ?? {};
    const others = [.../* @__PURE__ */ new Set([CONFIG.site, ...listed])].filter((u) => isHttp(u) && u !== OWN);
    others.sort((a, b) => (demoted[a] ?? 0) - (demoted[b] ?? 0));
    return [OWN, ...others].map((url) => new HttpSource(url, { stallMs: STALL_MS, timeoutMs: 12e4, name: url }));
  }
  async function demote(refusal) {
    const demoted = await load("demoted") ?? {};
    demoted[refusal.source] = (demoted[refusal.source] ?? 0) + 1;
    await save("demoted", demoted);
  }
  var allowedHere = (url) => {
    try {
      const address = new URL(url);
      return address.pathname === "/" && `${address.origin}/` === OWN;
    } catch {
      return false;
    }
  };
  async function refresh() {
    const pool = new RacePool(await sources(), { hedgeMs: HEDGE_MS, onRefused: demote });
    const pinned = await fingerprint();
    const release = await LazyRelease.open(pool, { now: Date.now(), fingerprint: pinned, seen: await load("seen") ?? void 0, copy: KEPT });
    const { log, entry } = await release.published();
    const policy = release.workflow.policy;
    const seen = policy.seenAfter();
    const last = log[log.length - 1];
    if (last) seen.log_head = [last.index, last.hash];
    const list = await release.read(MIRRORS_JSON);
    let mirrors = [];
    try {
      const parsed = list ? JSON.parse(decodeUtf8(list)) : null;
      mirrors = (Array.isArray(parsed?.mirrors) ? parsed.mirrors : []).map((m) => m?.public_url).filter(isHttp);
    } catch {
    }
    const before = await load("release");
    const info = { version: policy.snapshot.version, published: entry?.time ?? null, verifiedAt: (/* @__PURE__ */ new Date()).toISOString(), stale: release.stale, paths: before?.paths ?? {} };
    await save("seen", seen);
    await save("anchor", pinned);
    await save("mirrors", mirrors);
    await save("release", info);
    await save("allowed", [CONFIG.site, ...mirrors].some(allowedHere));
    current = { release, pool, info, checkedAt: Date.now() };
    return current;
  }
  function fresh() {
    if (current && Date.now() - current.checkedAt < FRESH_MS) return Promise.resolve(current);
    refreshing ??= refresh().finally(() => refreshing = null);
    return refreshing;
  }
  function respond(path, body, status) {
    const type = TYPES[/\.(\w+)$/.exec(path)?.[1]?.toLowerCase() ?? ""] ?? "application/octet-stream";
    const headers = { "content-type": type, "x-content-type-options": "nosniff", "content-security-policy": CONFIG.csp, "referrer-policy": "no-referrer" };
    return new Response(body, { status, headers });
  }
  var hostOf = (where) => {
    try {
      return new URL(where.split(": ")[0]).host;
    } catch {
      return new URL(OWN).host;
    }
  };
  function page(path, data, status, line) {
    if (!path.endsWith(".html")) return respond(path, data, status);
    return respond(path, rewriteStatus(decodeUtf8(data), line), status);
  }
  async function offline(path, navigate) {
    const info = await load("release");
    for (const [name, status] of [[path, 200], ["mirrors/index.html", 503]]) {
      const sha = info?.paths[name];
      const data = sha ? await cachedObject(byHashPath(name, sha)) : null;
      if (info && data && (name === path || navigate)) {
        return page(name, data, status, { state: "offline", release: info.version, published: info.published, since: info.verifiedAt, refused: null, shown: "" });
      }
    }
    if (!navigate) return Response.error();
    const mirrors = await load("mirrors") ?? [];
    const links = mirrors.map((m) => `<li><a href="${escapeHtml(m)}">${escapeHtml(m)}</a></li>`).join("");
    return respond("offline.html", `<!doctype html><meta charset="utf-8"><title>offline</title><ul>${links}</ul>`, 503);
  }
  function refusedPage(error) {
    const problem = error instanceof Error ? error.message : String(error);
    return respond("refused.txt", `tamizdat: no verified copy of this page could be found.
${problem}
`, 502);
  }
  async function answer(request) {
    const url = new URL(request.url);
    let path;
    try {
      path = decodeURIComponent(url.pathname.slice(1));
    } catch {
      return respond("404.txt", "not a file this publisher signed\n", 404);
    }
    if (path === "" || path.endsWith("/")) path += "index.html";
    const navigate = request.mode === "navigate";
    const held = current;
    let state;
    try {
      state = await fresh();
    } catch (error) {
      return error instanceof TransportError ? offline(path, navigate) : refusedPage(error);
    }
    const mark = state === held ? state.pool.refusals.length : 0;
    try {
      let data = await state.release.read(path);
      let status = 200;
      if (!data && !/\.\w+$/.test(path) && await state.release.workflow.resolve(`${path}/index.html`)) {
        return Response.redirect(`${url.origin}${url.pathname}/`, 301);
      }
      if (!data) {
        [path, status, data] = ["404.html", 404, await state.release.read("404.html")];
        if (!data) return respond("404.txt", "not a file this publisher signed\n", 404);
      }
      const sha = await sha256Hex(data);
      const location = byHashPath(path, sha);
      await cacheObject(location, data);
      if (state.info.paths[path] !== sha) {
        state.info.paths[path] = sha;
        await save("release", state.info);
      }
      const where = state.release.workflow.origins.get(location) ?? OWN;
      const shown = where.startsWith(KEPT.name) ? new URL(OWN).host : hostOf(where);
      const altered = state.pool.refusals.slice(mark).filter((r) => !r.older);
      const refused = altered.map((r) => hostOf(r.source)).find((h) => h !== shown) ?? null;
      return page(path, data, status, { state: state.info.stale ? "stale" : "verified", release: state.info.version, published: state.info.published, since: null, refused, shown });
    } catch (error) {
      return error instanceof TransportError ? offline(path, navigate) : refusedPage(error);
    }
  }
  async function tell(what) {
    for (const client of await worker.clients.matchAll({ includeUncontrolled: true, type: "window" })) {
      client.postMessage({ tamizdat: what });
    }
  }
  async function checkAnchor() {
    const trusted = await load("anchor");
    if (!trusted || trusted === CONFIG.anchor) return;
    const pool = new RacePool(await sources(), { hedgeMs: HEDGE_MS });
    const workflow = new ClientWorkflow(pool, { now: Date.now(), fingerprint: trusted, seen: await load("seen") ?? void 0, copy: KEPT });
    await workflow.loadRoot();
    for (const [name, data] of workflow.metadata) {
      if (name.endsWith(".root.json") && await sha256Hex(data) === CONFIG.anchor) return;
    }
    throw new Error(`refused a new service worker: its publisher key ${CONFIG.anchor} is not the one this browser trusts`);
  }
  async function ed25519Fallback2() {
    try {
      await crypto.subtle.importKey("raw", new Uint8Array(32), { name: "Ed25519" }, false, ["verify"]);
    } catch (error) {
      if (error instanceof DOMException && error.name === "NotSupportedError") worker.importScripts(OWN + FALLBACK);
    }
  }
  setEd25519Fallback((publicKey, signature, message) => {
    worker.importScripts(OWN + FALLBACK);
    return worker.tamizdatEd25519.verify(publicKey, signature, message);
  });
  async function install() {
    await ed25519Fallback2();
    try {
      await checkAnchor();
    } catch (error) {
      if (!(error instanceof TransportError)) await tell("anchor-refused");
      throw error;
    }
    const state = await refresh();
    if (!await load("allowed")) {
      await tell("origin-refused");
      throw new Error(`refused to install on ${OWN}: not an address the signed mirror list allows`);
    }
    const mirrorsPage = await state.release.read("mirrors/index.html").catch(() => null);
    if (mirrorsPage) {
      const sha = await sha256Hex(mirrorsPage);
      await cacheObject(byHashPath("mirrors/index.html", sha), mirrorsPage);
      state.info.paths["mirrors/index.html"] = sha;
      await save("release", state.info);
    }
    await worker.skipWaiting();
  }
  async function verifyFor(typed) {
    const pool = new RacePool(await sources(), { hedgeMs: HEDGE_MS });
    try {
      const release = await LazyRelease.open(pool, { now: Date.now(), fingerprint: typed.toLowerCase(), copy: NO_COPY });
      const { entry } = await release.published();
      const version = release.workflow.policy.snapshot.version;
      return { outcome: release.stale ? "stale" : "current", version, published: entry?.time ?? null, problem: null };
    } catch (error) {
      const e = error;
      return { outcome: e.name ?? "error", version: 0, published: null, problem: e.problem ?? String(error) };
    }
  }
  worker.addEventListener("install", (event) => event.waitUntil(install()));
  worker.addEventListener("activate", (event) => event.waitUntil(worker.clients.claim()));
  worker.addEventListener("message", (event) => {
    const data = event.data;
    if (data?.tamizdat === "verify" && typeof data.fingerprint === "string" && event.ports?.[0]) {
      event.waitUntil(verifyFor(data.fingerprint).then((result) => event.ports[0].postMessage(result)));
    }
  });
  worker.addEventListener("fetch", (event) => {
    const request = event.request;
    const url = new URL(request.url);
    if (request.method !== "GET" || url.origin !== self.location.origin) return;
    if (url.pathname.startsWith(`/${WELL_KNOWN}/`) || url.pathname === "/sw.js") return;
    event.respondWith(answer(request));
  });
})();
