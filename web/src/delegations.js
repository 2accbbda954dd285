/**
 * The delegation tree of verified targets roles: who may sign which path, and who did
 * (trust/verify/delegations.py and resolve.py).
 *
 * Invariant: trust is per delegation *edge*, not per role name. A role that two delegators
 * list is trusted through an edge only once its metadata verified against *that*
 * delegator's keys and threshold (`addEdge`, called by the policy). Authorisation needs a
 * chain of trusted edges from `targets` whose every delegation covers the path; resolution
 * is the pre-order depth-first search of §5.6.7 over trusted edges, honouring terminating
 * delegations, calling a loader for any edge not trusted yet. No I/O here.
 */
import { InternalError, UnauthorizedPathError } from "./errors.js";
import { binFor, binName, isBinName } from "./metadata.js";
import { roleCovers } from "./fnmatch.js";

/** @typedef {import("./metadata.js").Targets} Targets */
/** @typedef {import("./metadata.js").TargetFile} TargetFile */
/** @typedef {import("./metadata.js").DelegatedRole | import("./metadata.js").SuccinctRoles} Delegation */
/** @typedef {{parent: string, delegation: Delegation}} Edge */
/** @typedef {(role: string, delegator: string) => Promise<void>} RoleLoader */

/**
 * @param {Delegation} delegation
 * @returns {delegation is import("./metadata.js").SuccinctRoles}
 */
const isBins = (delegation) => "bitLength" in delegation;

/**
 * Whether `delegation` (to `role`) covers `path`: a hash bin only its own paths.
 * @param {Delegation} delegation
 * @param {string} role
 * @param {string} path
 */
async function covers(delegation, role, path) {
  if (isBins(delegation)) return (await binFor(delegation, path)) === role;
  return roleCovers(delegation, path);
}

export class DelegationTree {
  /** @param {number} maxRoles */
  constructor(maxRoles) {
    this.maxRoles = maxRoles;
    /** @type {Map<string, Targets>} every verified targets role, by name */
    this.roles = new Map();
    /** @type {Map<string, Edge[]>} */
    this.parents = new Map();
    /** @type {Set<string>} trusted edges "delegator\0role" */
    this.trusted = new Set(["root\0targets"]);
  }

  /**
   * Record verified `targets` for `role`, delegated by `delegator` (`parent`).
   * @param {string} role
   * @param {Targets} targets
   * @param {string} delegator
   * @param {import("./metadata.js").Root | Targets} parent
   */
  add(role, targets, delegator, parent) {
    this.roles.set(role, targets);
    this.addEdge(role, delegator, parent);
  }

  /**
   * Trust `delegator` → `role`: the caller verified `role` against `parent`'s keys for it.
   * @param {string} role
   * @param {string} delegator
   * @param {import("./metadata.js").Root | Targets} parent
   */
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

  /** @param {string} delegator @param {string} role */
  trusts(delegator, role) {
    return this.trusted.has(`${delegator}\0${role}`);
  }

  get edgeCount() {
    return this.trusted.size;
  }

  /**
   * Roles `role` delegates to, in order, with their terminating flag.
   * @param {string} role
   * @returns {[string, boolean][]}
   */
  children(role) {
    const dele = /** @type {Targets} */ (this.roles.get(role)).delegations;
    if (!dele) return [];
    if (dele.roles) return dele.roles.map((r) => [r.name, r.terminating]);
    const bins = /** @type {import("./metadata.js").SuccinctRoles} */ (dele.succinct);
    return Array.from({ length: 2 ** bins.bitLength }, (_, i) => [binName(bins, i), true]);
  }

  /**
   * Whether every delegation on some chain of trusted edges from `targets` to `role`
   * covers `path`.
   * @param {string} role
   * @param {string} path
   * @param {Set<string>} [seen]
   * @returns {Promise<boolean>}
   */
  async authorized(role, path, seen = new Set()) {
    if (role === "targets") return true;
    for (const edge of this.parents.get(role) ?? []) {
      if (seen.has(edge.parent) || !(await covers(edge.delegation, role, path))) continue;
      if (await this.authorized(edge.parent, path, new Set([...seen, role]))) return true;
    }
    return false;
  }

  /**
   * @param {string} path
   * @throws {UnauthorizedPathError} some loaded role lists `path` but was not delegated it
   */
  async checkAuthorized(path) {
    for (const [role, targets] of this.roles) {
      if (targets.targets.has(path) && !(await this.authorized(role, path))) {
        const patterns = (this.parents.get(role) ?? [])
          .flatMap((edge) => ("paths" in edge.delegation && edge.delegation.paths) || [])
          .sort();
        throw new UnauthorizedPathError(
          `role ${role} signed ${path}, outside the paths delegated to it (${patterns.join(", ") || "none"})`,
          { where: `${role}.json`, hint: "a desk can only sign its own section" },
        );
      }
    }
  }

  /**
   * The roles `role` delegates `path` to, in order (python-tuf `get_roles_for_target`).
   * @param {string} role
   * @param {string} path
   * @returns {Promise<[string, boolean][]>}
   */
  async delegatesTo(role, path) {
    const dele = /** @type {Targets} */ (this.roles.get(role)).delegations;
    if (!dele) return [];
    if (dele.succinct) return [[await binFor(dele.succinct, path), true]];
    /** @type {[string, boolean][]} */
    const out = [];
    for (const r of dele.roles ?? []) if (await roleCovers(r, path)) out.push([r.name, r.terminating]);
    return out;
  }

  /**
   * Pre-order depth-first search for `path` (§5.6.7). `load(role, delegator)` is called for
   * a role not loaded, or reached through an edge not trusted yet; it verifies that edge or
   * throws. Without `load`, such roles are an internal error (everything must be loaded).
   * @param {string} path
   * @param {RoleLoader} [load]
   * @returns {Promise<[string, TargetFile] | null>} the role and entry that count, or null
   */
  async resolve(path, load) {
    /** @type {[string, string][]} */
    let stack = [["targets", "root"]];
    const visited = new Set();
    while (stack.length && visited.size <= this.maxRoles) {
      const [role, parent] = /** @type {[string, string]} */ (stack.pop());
      if (visited.has(role)) continue;
      if (!this.roles.has(role) || !this.trusts(parent, role)) {
        if (!load) throw new InternalError(`role ${role} is not loaded through ${parent}; cannot resolve ${path}`);
        await load(role, parent);
      }
      const listed = /** @type {Targets} */ (this.roles.get(role)).targets.get(path);
      if (listed) return [role, listed];
      visited.add(role);
      /** @type {[string, string][]} */
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
}
