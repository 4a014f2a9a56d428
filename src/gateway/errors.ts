/**
 * The gateway's error catalog. Each code is stable (documented in docs/gateway.md) and maps to
 * an HTTP status and to the error type of each API, so an SDK raises the error class it would
 * raise against the provider itself (403 → PermissionDeniedError, 401 → AuthenticationError ...).
 */
export type Surface = "openai" | "anthropic";

interface ErrorKind {
  status: number;
  openai: string;
  anthropic: string;
  what: string;
}

export const GATEWAY_ERRORS = {
  invalid_api_key: {
    status: 401,
    openai: "invalid_request_error",
    anthropic: "authentication_error",
    what: "no gateway API key, or one that is unknown or revoked",
  },
  model_not_permitted: {
    status: 403,
    openai: "permission_error",
    anthropic: "permission_error",
    what: "the directives in force deny this organisation, user or request the model",
  },
  no_permitted_deployment: {
    status: 403,
    openai: "permission_error",
    anthropic: "permission_error",
    what: "the model is permitted, but no configured deployment meets the decision's requirements (e.g. region)",
  },
  model_not_found: {
    status: 404,
    openai: "invalid_request_error",
    anthropic: "not_found_error",
    what: "the policy declares no such model",
  },
  not_found: {
    status: 404,
    openai: "invalid_request_error",
    anthropic: "not_found_error",
    what: "no such endpoint",
  },
  method_not_allowed: {
    status: 405,
    openai: "invalid_request_error",
    anthropic: "invalid_request_error",
    what: "the endpoint exists but not with this HTTP method",
  },
  invalid_json: {
    status: 400,
    openai: "invalid_request_error",
    anthropic: "invalid_request_error",
    what: "the body is not valid UTF-8 JSON",
  },
  invalid_request: {
    status: 400,
    openai: "invalid_request_error",
    anthropic: "invalid_request_error",
    what: "a field is missing or of the wrong type (`model`, `user`, `messages` ...)",
  },
  request_timeout: {
    status: 408,
    openai: "invalid_request_error",
    anthropic: "invalid_request_error",
    what: "the request body did not arrive in time",
  },
  request_too_large: {
    status: 413,
    openai: "invalid_request_error",
    anthropic: "request_too_large",
    what: "the body is larger than `limits.body_bytes`",
  },
  unsupported_media_type: {
    status: 415,
    openai: "invalid_request_error",
    anthropic: "invalid_request_error",
    what: "the body is not JSON",
  },
  rate_limited: {
    status: 429,
    openai: "rate_limit_error",
    anthropic: "rate_limit_error",
    what: "the organisation's requests or tokens per minute are used up, across all gateway nodes; `retry-after` says when to retry",
  },
  rate_limit_unavailable: {
    status: 503,
    openai: "api_error",
    anthropic: "api_error",
    what: "Redis cannot be asked and `limits.fail` is `closed`: nothing is served without a limit check",
  },
  upstream_error: {
    status: 502,
    openai: "api_error",
    anthropic: "api_error",
    what: "every permitted deployment failed (connection error or 5xx)",
  },
  upstream_timeout: {
    status: 504,
    openai: "api_error",
    anthropic: "api_error",
    what: "every permitted deployment failed and the last one timed out",
  },
  service_unavailable: {
    status: 503,
    openai: "api_error",
    anthropic: "api_error",
    what: "policy, directory or audit log not available; nothing is served without them",
  },
  internal_error: {
    status: 500,
    openai: "api_error",
    anthropic: "api_error",
    what: "an unexpected error; the log has the details, the response never does",
  },
} as const satisfies Record<string, ErrorKind>;

export type GatewayErrorCode = keyof typeof GATEWAY_ERRORS;

/** An error meant for the caller: a code from the catalog and a message a person can act on. */
export class GatewayError extends Error {
  readonly status: number;
  constructor(
    readonly code: GatewayErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "GatewayError";
    this.status = GATEWAY_ERRORS[code].status;
  }
}

export function isGatewayError(err: unknown): err is GatewayError {
  return err instanceof GatewayError;
}

/** The error body in the caller's API format. */
export function errorBody(surface: Surface, code: GatewayErrorCode, message: string): unknown {
  const kind = GATEWAY_ERRORS[code];
  if (surface === "anthropic")
    return { type: "error", error: { type: kind.anthropic, message, details: { error_code: code } } };
  return { error: { message, type: kind.openai, param: null, code } };
}
