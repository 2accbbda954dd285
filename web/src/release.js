/**
 * Verify a release: the whole of it (trust/verify/whole.py), or one path at a time (what
 * the service worker asks). Invariant: `verifyRelease` reports `current` or `stale` only
 * for an authentic release, and says what this machine must remember (`seen`) only then;
 * every refusal is an outcome with the error that caused it, never a silent pass.
 */
import { OversizeError, outcomeOf } from "./errors.js";
import { ClientWorkflow } from "./workflow.js";
import { SourceFetcher } from "./fetch.js";
import { LOG_JSON } from "./layout.js";
import { releaseEntry } from "./log.js";
import { compareCodePoints, sha256Hex } from "./bytes.js";
import { formatTime } from "./metadata.js";

/**
 * @typedef {object} VerifyReport
 * @property {import("./errors.js").Outcome} outcome
 * @property {string} source
 * @property {number} version the snapshot version (0 when refused)
 * @property {number} timestamp_version
 * @property {string | null} published the time of this release's own log entry
 * @property {string | null} expires the earliest expiry (when it stops being current)
 * @property {number} files_checked
 * @property {string[]} stale_roles
 * @property {[number, string] | null} log_head
 * @property {import("./rollback.js").SeenVersions | null} seen what to remember (authentic only)
 * @property {string | null} problem
 * @property {string | null} where
 * @property {string | null} error the error class's name
 */

/**
 * @typedef {object} VerifyOptions
 * @property {string} fingerprint
 * @property {number} [now] milliseconds since the epoch (default: now)
 * @property {import("./rollback.js").SeenVersions} [seen]
 * @property {"all" | "metadata"} [check] every signed file, or only the log (default all)
 * @property {boolean} [natural] also check each file at its natural path
 * @property {import("./policy.js").Limits} [limits]
 */

/**
 * Steps 6–7 for a whole release: every delegation edge reachable from `targets`
 * (breadth first), then every listed path must be authorised. Whole-release only, so it
 * lives here and not in ClientWorkflow: the worker (lazy, per path) never ships it.
 * @param {ClientWorkflow} workflow refreshed already
 * @throws {OversizeError | import("./errors.js").UnauthorizedPathError} and as `loadDelegation`
 */
async function loadAllRoles(workflow) {
  const tree = workflow.policy.tree;
  const queue = tree.children("targets").map(([child]) => [child, "targets"]);
  let roles = 1;
  for (let i = 0; i < queue.length; i++) {
    const [role, delegator] = queue[i];
    const first = !tree.roles.has(role);
    if (first && ++roles > workflow.limits.maxDelegations) {
      throw new OversizeError(`expected at most ${workflow.limits.maxDelegations} targets roles, found more`, { where: workflow.fetcher.name });
    }
    await workflow.loadDelegation(role, delegator);
    if (first) queue.push(...tree.children(role).map(([child]) => [child, role]));
  }
  for (const [role, targets] of tree.roles) {
    for (const path of targets.targets.keys()) {
      if (!(await tree.authorized(role, path))) await tree.checkAuthorized(path);
    }
  }
}

/**
 * Every signed path, resolved as a client would (every reachable role must be loaded).
 * @param {import("./delegations.js").DelegationTree} tree
 * @returns {Promise<Map<string, import("./metadata.js").TargetFile>>} sorted by path
 */
async function resolvedTargets(tree) {
  const paths = new Set();
  for (const targets of tree.roles.values()) for (const path of targets.targets.keys()) paths.add(path);
  const out = new Map();
  for (const path of [...paths].sort(compareCodePoints)) {
    const found = await tree.resolve(path);
    if (found) out.set(path, found[1]);
  }
  return out;
}

/**
 * Verify the whole release a fetcher (or source) serves: steps 1–10 and 12.
 * @param {import("./fetch.js").Fetcher | import("./fetch.js").Source} from
 * @param {VerifyOptions} options
 * @returns {Promise<VerifyReport>} refusals as outcomes; a transport failure is "unreachable"
 */
export async function verifyRelease(from, options) {
  const fetcher = "fetchChecked" in from ? from : new SourceFetcher(from);
  try {
    const workflow = new ClientWorkflow(fetcher, {
      now: options.now ?? Date.now(),
      fingerprint: options.fingerprint.toLowerCase(),
      seen: options.seen,
      limits: options.limits,
    });
    await workflow.refresh();
    await loadAllRoles(workflow);
    const policy = workflow.policy;
    const targets = await resolvedTargets(policy.tree);
    const chosen = options.check === "metadata" ? [...targets.keys()].filter((p) => p === LOG_JSON) : [...targets.keys()];
    /** @type {import("./log.js").LogEntry[] | null} */
    let log = null;
    for (const path of chosen) {
      const data = await workflow.fetchTarget(path, /** @type {import("./metadata.js").TargetFile} */ (targets.get(path)), { natural: options.natural });
      if (path === LOG_JSON) log = await workflow.checkLog(data);
    }
    const last = log?.[log.length - 1];
    /** @type {[number, string] | null} */
    const head = last ? [last.index, last.hash] : null;
    const seen = policy.seenAfter();
    if (head) seen.log_head = head;
    const version = policy.snapshot.version;
    const entry = releaseEntry(log ?? [], version, await sha256Hex(workflow.snapshotBytes));
    return {
      outcome: policy.stale.size ? "stale" : "current",
      source: fetcher.name,
      version,
      timestamp_version: policy.timestamp.version,
      published: entry ? entry.time : null,
      expires: formatTime(policy.expires),
      files_checked: chosen.length,
      stale_roles: [...policy.stale.keys()].sort(),
      log_head: head,
      seen,
      problem: null,
      where: null,
      error: null,
    };
  } catch (error) {
    const outcome = outcomeOf(error);
    const e = /** @type {import("./errors.js").TamizdatError} */ (error);
    return {
      outcome, source: fetcher.name, version: 0, timestamp_version: 0, published: null, expires: null,
      files_checked: 0, stale_roles: [], log_head: null, seen: null, problem: e.problem, where: e.where, error: e.name,
    };
  }
}

/**
 * A verified release opened for reading path by path (the worker's way): steps 1–5 now,
 * then for each path only the delegations its search crosses, and its by-hash object.
 */
export class LazyRelease {
  /**
   * @param {ClientWorkflow} workflow refreshed already
   */
  constructor(workflow) {
    this.workflow = workflow;
  }

  /**
   * Steps 1–5 and the top-level targets.
   * @param {import("./fetch.js").Fetcher | import("./fetch.js").Source} from
   * @param {import("./workflow.js").WorkflowOptions} options
   */
  static async open(from, options) {
    const fetcher = "fetchChecked" in from ? from : new SourceFetcher(from);
    const workflow = new ClientWorkflow(fetcher, options);
    await workflow.refresh();
    return new LazyRelease(workflow);
  }

  get stale() {
    return this.workflow.policy.stale.size > 0;
  }

  /**
   * The signed bytes of `path`, or null when no role signs it (steps 6–9 for this path).
   * @param {string} path
   * @throws {import("./errors.js").UntrustedContentError | import("./errors.js").TransportError}
   */
  async read(path) {
    const found = await this.workflow.resolve(path);
    if (!found) return null;
    const [role, info] = found;
    if (!(await this.workflow.policy.tree.authorized(role, path))) await this.workflow.policy.tree.checkAuthorized(path);
    return this.workflow.fetchTarget(path, info);
  }

  /**
   * The publication log checked against the head seen before (step 10) and this release's
   * own entry, whose time is when it was published (null: unknown).
   */
  async published() {
    const head = await this.read(LOG_JSON);
    if (!head) return { log: [], entry: null };
    const log = await this.workflow.checkLog(head);
    const policy = this.workflow.policy;
    const entry = releaseEntry(log, policy.snapshot.version, await sha256Hex(this.workflow.snapshotBytes));
    return { log, entry };
  }
}
