/**
 * Every error the verifier raises, grouped by who is at fault: the same tree as
 * src/tamizdat/errors.py, so a verdict reads the same in Python and in JavaScript.
 *
 *     TamizdatError
 *     ├── UntrustedContentError      what a mirror delivered is not authentic
 *     │   ├── BadSignatureError, RollbackError, TamperedError, MixAndMatchError,
 *     │   ├── OversizeError, UnauthorizedPathError, LogForkError,
 *     │   └── ExpiredMetadataError (strict mode only), NotThisPublisherError
 *     ├── TransportError             a mirror did not answer properly: try the next one
 *     │   └── MirrorResponseError → MissingFileError (the file is not there)
 *     └── InternalError              a bug
 *
 * Messages say what was expected and what was found; `where` names the file and source.
 */

export class TamizdatError extends Error {
  /**
   * @param {string} message what was expected and what was found
   * @param {{where?: string | null, hint?: string | null}} [options]
   */
  constructor(message, options = {}) {
    const where = options.where ?? null;
    super(where ? `${where}: ${message}` : message);
    this.name = new.target.name;
    /** @type {string} */
    this.problem = message;
    /** @type {string | null} */
    this.where = where;
    /** @type {string | null} */
    this.hint = options.hint ?? null;
  }
}

export class UntrustedContentError extends TamizdatError {}
export class BadSignatureError extends UntrustedContentError {}
export class RollbackError extends UntrustedContentError {}
export class TamperedError extends UntrustedContentError {}
export class MixAndMatchError extends UntrustedContentError {}
export class OversizeError extends UntrustedContentError {}
export class UnauthorizedPathError extends UntrustedContentError {}
export class LogForkError extends UntrustedContentError {}
export class ExpiredMetadataError extends UntrustedContentError {}
export class NotThisPublisherError extends UntrustedContentError {}

export class TransportError extends TamizdatError {}
export class MirrorResponseError extends TransportError {}
/** The source has no file at this path (HTTP 403/404/410, a page in place of metadata). */
export class MissingFileError extends MirrorResponseError {}
export class InternalError extends TamizdatError {}

/** @typedef {"current" | "stale" | "rollback" | "tampered" | "not-this-publisher" | "unreachable"} Outcome */

/**
 * The report outcome for an error (`outcome_of` in trust/verify/whole.py, plus
 * "unreachable" for a transport failure, which says nothing about authenticity).
 * @param {unknown} error
 * @returns {Outcome}
 */
export function outcomeOf(error) {
  if (error instanceof NotThisPublisherError) return "not-this-publisher";
  if (error instanceof RollbackError || error instanceof LogForkError) return "rollback";
  if (error instanceof UntrustedContentError) return "tampered";
  if (error instanceof TransportError) return "unreachable";
  throw error;
}
