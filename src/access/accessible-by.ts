import type { RuleOf } from '@casl/ability';
import { rulesToCondition } from '@casl/ability/extra';
import type { FilterQuery } from '@mikro-orm/core';
import type { Action, AppAbility, Subject } from './ability.factory';
import { AccessErrorCode, AccessException } from './access.exception';

/** A MikroORM filter before it is tied to an entity type. */
export type Filter = Record<string, unknown>;

/** A rule condition this adapter cannot express as a MikroORM filter with the same meaning. */
export class UnsupportedConditionError extends Error {
  override name = 'UnsupportedConditionError';
}

/**
 * Field operators of CASL's mongo conditions that MikroORM has under the same
 * name and meaning. The others CASL knows (`$regex`/`$options`: JavaScript vs
 * POSIX regular expressions; `$exists`: key presence vs `IS NOT NULL`; `$all`,
 * `$size`, `$elemMatch`: array semantics) are refused rather than guessed.
 */
const SAME_OPERATORS = new Set(['$eq', '$ne', '$lt', '$lte', '$gt', '$gte', '$in', '$nin']);

/**
 * The rows of `subject` the ability allows `action` on, as a MikroORM filter.
 *
 * CASL 7 ships `rulesToCondition` (the successor of `rulesToQuery`) in
 * `@casl/ability/extra`: it walks the rules highest priority first, so every
 * `can` is bounded by the conditional `cannot`s above it and an unconditional
 * `cannot` cuts off everything below. Here `can` conditions become filters,
 * `cannot` conditions `$not` filters, joined with `$and` / `$or` (MikroORM has
 * no `$nor`: it is the `$and` of `$not`s).
 *
 * - an unconditional `can` (not narrowed by a `cannot`): `{}`;
 * - no rule that allows anything: `AccessException(Forbidden)`.
 *
 * Where a column is NULL, SQL's three-valued logic can only drop rows CASL's
 * in-memory check would keep (`$ne`, `$not`), never add any: it fails closed.
 */
export function accessibleBy(ability: AppAbility, action: Action, subject: Subject): Filter {
  const filter = rulesToCondition<AppAbility, Filter, Filter>(
    ability.rulesFor(action, subject),
    (rule) => ruleToFilter(rule, subject),
    {
      and: (filters) => (filters.length === 1 ? filters[0] : { $and: filters }),
      or: (filters) => (filters.length === 1 ? filters[0] : { $or: filters }),
      empty: () => ({}),
    },
  );
  if (filter === null) {
    throw new AccessException(
      AccessErrorCode.Forbidden,
      `Your role does not allow ${action} on ${subject}.`,
    );
  }
  return filter;
}

/**
 * `where` narrowed to what the ability allows: both sides under `$and`, never
 * spread into one object, so no key of `where` (which may come from the
 * client) can replace an authorization condition.
 *
 * `ability` is the request's (`cls.get('ability')`, set by the policies guard
 * on every non-public route). Without one the caller is trusted internal code
 * (jobs, CLI, tests outside HTTP) and `where` is returned as it is.
 */
export function narrow<T extends object>(
  where: NoInfer<FilterQuery<T>>,
  ability: AppAbility | undefined,
  action: Action,
  subject: Subject,
): FilterQuery<T> {
  if (!ability) return where;
  return { $and: [where, accessibleBy(ability, action, subject)] } as FilterQuery<T>;
}

function ruleToFilter(rule: RuleOf<AppAbility>, subject: Subject): Filter {
  const filter = conditionsToFilter(rule.conditions ?? {}, subject);
  return rule.inverted ? { $not: filter } : filter;
}

function conditionsToFilter(conditions: object, subject: Subject): Filter {
  const parts = Object.entries(conditions).map(([field, value]) =>
    fieldToFilter(field, value, subject),
  );
  return parts.length === 1 ? parts[0] : parts.length === 0 ? {} : { $and: parts };
}

/** `{ 'a.b': v }` becomes `{ a: { b: v } }` (a relation, embeddable or JSON property). */
function fieldToFilter(field: string, value: unknown, subject: Subject): Filter {
  if (field.startsWith('$')) {
    throw unsupported(subject, `the top-level operator ${field}`);
  }
  return field
    .split('.')
    .reduceRight<unknown>(
      (inner, key) => ({ [key]: inner }),
      valueToFilter(value, field, subject),
    ) as Filter;
}

function valueToFilter(value: unknown, field: string, subject: Subject): unknown {
  if (isScalar(value)) return value;
  if (Array.isArray(value)) {
    // Mongo compares the whole array; MikroORM would read it as `$in`.
    throw unsupported(subject, `an array value for ${field} (use $in)`);
  }
  const entries = Object.entries(value as object);
  if (entries.length === 0 || !entries.every(([key]) => key.startsWith('$'))) {
    // Mongo matches the embedded document exactly; MikroORM would query its properties.
    throw unsupported(subject, `an object value for ${field} (use dotted paths)`);
  }
  const operators: Filter = {};
  for (const [operator, operand] of entries) {
    if (!SAME_OPERATORS.has(operator)) {
      throw unsupported(subject, `the operator ${operator} on ${field}`);
    }
    const list = operator === '$in' || operator === '$nin';
    if (list ? !Array.isArray(operand) || !operand.every(isScalar) : !isScalar(operand)) {
      throw unsupported(subject, `the operand of ${operator} on ${field}`);
    }
    operators[operator] = operand;
  }
  return operators;
}

function isScalar(value: unknown): boolean {
  return (
    value === null ||
    value instanceof Date ||
    ['string', 'number', 'boolean', 'bigint'].includes(typeof value)
  );
}

function unsupported(subject: Subject, what: string): UnsupportedConditionError {
  return new UnsupportedConditionError(
    `A ${subject} rule uses ${what}, which has no MikroORM filter with the same meaning; ` +
      'rewrite the rule or teach src/access/accessible-by.ts to translate it.',
  );
}
