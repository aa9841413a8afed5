/**
 * The `code` of every HTTP problem (RFC 9457) the API answers with, and the status each one carries. One home, so the
 * API, its OpenAPI document, the console and clients read the same list. Errors that already carry a machine code of
 * their own (an ApkError's NOT_A_ZIP, say) pass it through as the problem's code with the 422 of `INVALID_INPUT`.
 */
export const PROBLEMS = {
  /** The request's JSON, query or path does not satisfy its schema or the shared rules. */
  INVALID_INPUT: 422,
  /** The body is not JSON, or not of a type the route takes. */
  MALFORMED_REQUEST: 400,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  /** No session cookie or bearer token, or one that has expired or been revoked. */
  UNAUTHENTICATED: 401,
  /** Signed in, but the role does not allow this. */
  FORBIDDEN: 403,
  /** A cookie-authenticated write without the session's X-CSRF-Token. */
  CSRF_TOKEN_MISSING: 403,
  BAD_CREDENTIALS: 401,
  RATE_LIMITED: 429,
  /** The resource exists in a state that refuses the request (a master in use, a finished task). */
  CONFLICT: 409,
  ALREADY_EXISTS: 409,
  USER_EXISTS: 409,
  UNKNOWN_USER: 404,
  UNKNOWN_TOKEN: 404,
  /** The change would leave no enabled admin. */
  LAST_ADMIN: 409,
  CSRF_MISMATCH: 403,
  /** A path or URL outside the configured roots. */
  OUTSIDE_ROOTS: 422,
  /** Redis or RabbitMQ did not answer in time. */
  UNAVAILABLE: 503,
  INTERNAL: 500,
} as const satisfies Record<string, number>;

export type ProblemCode = keyof typeof PROBLEMS;

export const PROBLEM_CODES = Object.keys(PROBLEMS) as ProblemCode[];

export function isProblemCode(code: string): code is ProblemCode {
  return Object.prototype.hasOwnProperty.call(PROBLEMS, code);
}
