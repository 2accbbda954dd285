/**
 * tamizdat's verifier for browsers, service workers and Node: the client workflow of
 * docs/verification-policy.md, the same steps and verdicts as the Python verifier.
 */
export * from "./errors.js";
export { canonicalBytes } from "./canonical.js";
export { sha256Hex, toHex, utf8 } from "./bytes.js";
export { setEd25519Fallback } from "./keys.js";
export { fnmatch, patternCovers } from "./fnmatch.js";
export { parseMetadata, readMetadata } from "./metadata.js";
export { noneSeen } from "./rollback.js";
export { LIMITS, TrustPolicy } from "./policy.js";
export { HttpSource, MemorySource, SourceFetcher, checkMetadataShape } from "./fetch.js";
export { ClientWorkflow, NO_COPY } from "./workflow.js";
export { LazyRelease, verifyRelease } from "./release.js";
export * as layout from "./layout.js";
