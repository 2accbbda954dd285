/**
 * The one layout everywhere (src/tamizdat/layout.py): natural paths, metadata and by-hash
 * objects under `.well-known/tamizdat/`.
 */
export const WELL_KNOWN = ".well-known/tamizdat";
export const METADATA_DIR = `${WELL_KNOWN}/metadata`;
export const TARGETS_DIR = `${WELL_KNOWN}/targets`;
export const LOG_JSON = `${WELL_KNOWN}/log.json`;
export const LOG_DIR = `${WELL_KNOWN}/log`;

/**
 * Where the by-hash copy of `path` lives (TUF §5.7.3 consistent snapshots).
 * @param {string} path
 * @param {string} sha256
 */
export function byHashPath(path, sha256) {
  const slash = path.lastIndexOf("/");
  const directory = slash >= 0 ? `${path.slice(0, slash)}/` : "";
  return `${TARGETS_DIR}/${directory}${sha256}.${path.slice(slash + 1)}`;
}

/**
 * `METADATA_DIR/N.role.json`, or `METADATA_DIR/role.json` without a version.
 * @param {string} role
 * @param {number | null} version
 */
export const metadataPath = (role, version) => `${METADATA_DIR}/${version == null ? "" : `${version}.`}${role}.json`;

/** @param {number} index */
export const logEntryPath = (index) => `${LOG_DIR}/${index}.json`;
export const MIRRORS_JSON = `${WELL_KNOWN}/mirrors.json`;
