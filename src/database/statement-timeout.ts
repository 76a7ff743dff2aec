/**
 * Lifts the statement timeout (DATABASE_STATEMENT_TIMEOUT_MS) for the rest of
 * the caller's transaction, for migrations and other long work that is not a
 * request. `SET LOCAL` ends with the transaction, so the pooled (or PgBouncer)
 * connection goes back with the timeout in force.
 */
export const LIFT_STATEMENT_TIMEOUT = 'set local statement_timeout = 0';
