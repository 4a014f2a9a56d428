import { ClearanceError, type Diagnostic } from "../policy/index.ts";

/**
 * The admin API's error catalog: every refusal has a stable code and an HTTP status. Messages
 * are one line, lowercase, user input in backticks. Documented in docs/errors.md (a test checks).
 */
export const ADMIN_CODES = {
  ADMIN_UNAUTHENTICATED: { status: 401, meaning: "no admin token, or one that is unknown or revoked" },
  ADMIN_FORBIDDEN: {
    status: 403,
    meaning: "the token's role may not do this; the message names the role needed",
  },
  ADMIN_SELF_APPROVAL: {
    status: 403,
    meaning: "the draft's author tried to approve it; a second person must",
  },
  ADMIN_NOT_FOUND: {
    status: 404,
    meaning: "no such route, org, user, key, token, draft, notice or policy version",
  },
  ADMIN_BAD_REQUEST: { status: 400, meaning: "a parameter or body field is missing or of the wrong type" },
  ADMIN_MALFORMED_JSON: { status: 400, meaning: "the request body is not well-formed JSON" },
  ADMIN_BODY_TOO_LARGE: { status: 413, meaning: "the request body is larger than the configured limit" },
  ADMIN_UNSUPPORTED_MEDIA_TYPE: { status: 415, meaning: "a body that is not `application/json`" },
  ADMIN_STALE_ETAG: { status: 409, meaning: "`If-Match` names a version that is no longer the current one" },
  ADMIN_CONFLICT: {
    status: 409,
    meaning: "the write conflicts with what is stored (duplicate id, changed meanwhile)",
  },
  ADMIN_DRAFT_INVALID: {
    status: 422,
    meaning: "the draft's policy has errors; each is listed with file:line:column",
  },
  ADMIN_DRAFT_STATE: {
    status: 409,
    meaning: "the lifecycle step is not possible in the draft's current state",
  },
  ADMIN_STALE_BASE: {
    status: 409,
    meaning: "a version was published after the draft's impact was computed; recompute it",
  },
  ADMIN_NO_POLICY: { status: 409, meaning: "no policy version has been published yet" },
  ADMIN_NOT_DISCLOSED: {
    status: 422,
    meaning: "a cohort report for an authority the cohort is not disclosed to",
  },
  ADMIN_UNAVAILABLE: { status: 503, meaning: "the store could not be reached; nothing was written" },
  ADMIN_INTERNAL: { status: 500, meaning: "an unexpected error; the message says no more, the log does" },
} as const;

export type AdminCode = keyof typeof ADMIN_CODES;

export class AdminError extends ClearanceError {
  declare readonly code: AdminCode;
  readonly status: number;
  constructor(code: AdminCode, message: string, diagnostics: readonly Diagnostic[] = []) {
    super(code, message, diagnostics);
    this.name = "AdminError";
    this.status = ADMIN_CODES[code].status;
  }
}

/** The JSON body of every admin API error. */
export interface AdminErrorBody {
  error: { code: string; message: string; diagnostics?: string[] };
}
