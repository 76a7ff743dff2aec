/**
 * A PostgreSQL array literal for `?::text[]`. The driver would expand a JS
 * array into a list of parameters; this keeps it one parameter. Only for our
 * own enum values (no quoting needed: letters and underscores).
 */
export function textArray(values: readonly string[]): string {
  for (const value of values) {
    if (!/^[a-z_]+$/.test(value)) throw new Error(`Not a plain enum value: ${value}`);
  }
  return `{${values.join(',')}}`;
}
