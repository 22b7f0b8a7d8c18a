/**
 * The one error class of semid. Every failure a user can cause carries a stable code from a closed
 * set, so the CLI, the server (which maps codes to HTTP statuses in one handler) and tests can
 * match on it. Messages say what was expected, what came, and what to do.
 */
export const ERROR_CODES = {
  SEMID_ERR_BAD_INPUT: 400,
  SEMID_ERR_BAD_CONFIG: 400,
  SEMID_ERR_PARSE: 400,
  SEMID_ERR_UNKNOWN_ITEM: 400,
  SEMID_ERR_UNKNOWN_SCHEME: 400,
  SEMID_ERR_HISTORY_EMPTY: 400,
  SEMID_ERR_NOT_FOUND: 404,
  SEMID_ERR_UNKNOWN_BUNDLE: 404,
  SEMID_ERR_UNAUTHORIZED: 401,
  SEMID_ERR_TIMEOUT: 408,
  SEMID_ERR_CONFLICT: 409,
  SEMID_ERR_TOO_LARGE: 413,
  SEMID_ERR_MEDIA_TYPE: 415,
  SEMID_ERR_OVER_BUDGET: 422,
  SEMID_ERR_RATE_LIMITED: 429,
  SEMID_ERR_ARTIFACT_MISSING: 500,
  SEMID_ERR_ARTIFACT_CORRUPT: 500,
  SEMID_ERR_ARTIFACT_VERSION: 500,
  SEMID_ERR_COLLISION: 500,
  SEMID_ERR_NETWORK: 503,
  SEMID_ERR_UNAVAILABLE: 503,
  SEMID_ERR_INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class SemidError extends Error {
  readonly code: ErrorCode;
  /** Structured context (file, line, offending ids...) for machine consumers. */
  readonly details: Record<string, unknown> | undefined;
  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'SemidError';
    this.code = code;
    this.details = details;
  }
  /** The HTTP status the server answers with for this error. */
  get status(): number {
    return ERROR_CODES[this.code];
  }
}

/** Throws a SEMID_ERR_BAD_INPUT error unless `cond` holds. */
export function check(cond: unknown, message: string, code: ErrorCode = 'SEMID_ERR_BAD_INPUT'): asserts cond {
  if (!cond) throw new SemidError(code, message);
}
