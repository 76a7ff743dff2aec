/** The placeholders a macro's reply may use, and what each stands for. */
export const MACRO_PLACEHOLDERS = [
  'ticket.number',
  'ticket.subject',
  'ticket.priority',
  'requester.name',
  'agent.name',
] as const;
export type MacroPlaceholder = (typeof MACRO_PLACEHOLDERS)[number];
export type MacroValues = Record<MacroPlaceholder, string>;

const KNOWN = new Set<string>(MACRO_PLACEHOLDERS);
/** `{{ name }}`: letters, digits, dots and underscores, spaces inside the braces allowed. */
const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_.]+)\s*\}\}/g;

/** Placeholders in a template that are not known (the macro is refused at creation). */
export function unknownPlaceholders(template: string): string[] {
  const unknown = new Set<string>();
  for (const match of template.matchAll(PLACEHOLDER)) {
    if (!KNOWN.has(match[1])) unknown.add(match[1]);
  }
  return [...unknown].sort();
}

/**
 * Fills the placeholders in one pass: a value is inserted as text and never
 * read again, so a requester named `{{agent.name}}` stays exactly that. Anything
 * unknown (only possible for templates stored before a placeholder was retired)
 * is left as written.
 */
export function renderMacro(template: string, values: MacroValues): string {
  return template.replace(PLACEHOLDER, (whole: string, name: string) =>
    KNOWN.has(name) ? values[name as MacroPlaceholder] : whole,
  );
}
