/**
 * Base of every error a service throws on purpose. Services speak in domain
 * codes, never in HTTP; each module's exception maps its own codes to a status
 * in one exhaustive switch, and the global filter writes the problem document.
 */
export abstract class DomainException<Code extends string = string> extends Error {
  /** Response headers the problem needs (e.g. `retry-after`, `www-authenticate`). */
  readonly headers: Record<string, string> = {};

  protected constructor(
    readonly code: Code,
    /** Human-readable, safe to show to the API client. */
    readonly detail: string,
    /** Extra members of the problem document (safe to show). */
    readonly extensions: Record<string, unknown> = {},
    /** The underlying failure, for logs only; never sent to the client. */
    cause?: unknown,
  ) {
    super(detail, cause === undefined ? undefined : { cause });
    this.name = new.target.name;
  }

  /** The HTTP status this code stands for. */
  abstract get status(): number;
}

/** One invalid field of a request, as listed in a validation problem's `errors[]`. */
export interface FieldError {
  /** Dotted path of the field in the request body or query, e.g. `items.0.name`. */
  field: string;
  message: string;
}
