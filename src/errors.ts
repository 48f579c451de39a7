/** The one error catalog: every error the gateway answers with has a code from here. */
export const ERROR_CODES = {
  bad_request: 400,
  invalid_json: 400,
  invalid_body: 400,
  validation_failed: 400,
  invalid_value: 400,
  url_and_body_identifiers_mismatch: 400,
  identifier_length_violation: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  reference_not_found: 404,
  method_not_allowed: 405,
  already_exists: 409,
  version_conflict: 409,
  sale_collision: 409,
  still_referenced: 409,
  not_open: 409,
  payload_too_large: 413,
  too_many_invoices: 413,
  unsupported_media_type: 415,
  receipt_is_printed_already: 422,
  day_is_closed: 422,
  day_is_not_closed: 422,
  day_is_not_open: 422,
  quarantined_again: 422,
  bridge_mode_read_only: 409,
  kitchen_order_rejected: 409,
  too_many_requests: 429,
  internal_error: 500,
  upstream_error: 502,
  not_ready: 503,
  upstream_unavailable: 503,
  upstream_timeout: 504,
  // Several shops (src/shops)
  shop_required: 400,
  shop_disabled: 403,
  username_taken: 409,
  shop_in_config: 409,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown[] };
}

export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'AppError';
    this.status = ERROR_CODES[code];
  }

  toBody(): ErrorBody {
    const error: ErrorBody['error'] = { code: this.code, message: this.message };
    if (this.details !== undefined) error.details = this.details;
    return { error };
  }
}

export const notFound = (what: string) => new AppError('not_found', `${what} not found`);
export const badRequest = (message: string, details?: unknown[]) => new AppError('bad_request', message, details);
export const validationFailed = (details: unknown[]) => new AppError('validation_failed', 'request body is invalid', details);
/** A username names one account deployment-wide (the API and the back office's forms say it alike). */
export const usernameTaken = (username: string) =>
  new AppError('username_taken', `username ${username} is taken in this deployment (usernames are unique across every shop)`);

/** Body shown to clients for any 5xx that is not an AppError: never leaks internals. */
export const INTERNAL_ERROR_BODY: ErrorBody = {
  error: { code: 'internal_error', message: 'internal server error' },
};
