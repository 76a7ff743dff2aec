import {
  ArrayType,
  BooleanType,
  DateTimeType,
  EnumType,
  IntegerType,
  SmallIntType,
  StringType,
  TextType,
  Type,
  UuidType,
  type EntityClass,
  type EntityProperty,
  type QueryOrderMap,
} from '@mikro-orm/core';
import type { EntityManager, QBFilterQuery } from '@mikro-orm/postgresql';

/**
 * Column types that node-postgres already returns as the entity holds them
 * (strings, numbers, booleans, Dates, text arrays), so a plain row needs no
 * conversion. A property of any other type (an encrypted column, JSON,
 * bigint, decimal) is refused: read it through the ORM.
 */
const NATIVE_TYPES: (abstract new (...args: never[]) => Type<unknown>)[] = [
  UuidType,
  TextType,
  StringType,
  IntegerType,
  SmallIntType,
  EnumType,
  BooleanType,
  DateTimeType,
  ArrayType,
];

/** Entity and field lists already checked, so the check costs once per call site. */
const checked = new WeakMap<object, Set<string>>();

export interface PlainRowsQuery<T extends object> {
  where: QBFilterQuery<T>;
  orderBy: QueryOrderMap<T>;
  limit?: number;
}

/**
 * Rows of `entity` with only `fields`, as plain objects keyed by property
 * name: for read-only pages, where creating managed entities (identity map,
 * change tracking, reference propagation) costs more than the query itself.
 * Nothing read this way can be changed and flushed; use `em.find` for that.
 */
export async function plainRows<T extends object, const F extends readonly (keyof T & string)[]>(
  em: EntityManager,
  entity: EntityClass<T>,
  fields: F,
  query: PlainRowsQuery<T>,
): Promise<Pick<T, F[number]>[]> {
  assertNative(em, entity, fields);
  const qb = em
    .createQueryBuilder(entity)
    .select([...fields])
    .where(query.where)
    .orderBy(query.orderBy);
  if (query.limit !== undefined) qb.limit(query.limit);
  return qb.execute<Pick<T, F[number]>[]>('all', true);
}

function assertNative<T extends object>(
  em: EntityManager,
  entity: EntityClass<T>,
  fields: readonly string[],
): void {
  const key = fields.join(',');
  const seen = checked.get(entity);
  if (seen?.has(key)) return;
  const properties = em.getMetadata().get<T>(entity.name).properties as Record<
    string,
    EntityProperty<T> | undefined
  >;
  for (const field of fields) {
    const property = properties[field];
    const type = property?.customType;
    if (!property || (type && !NATIVE_TYPES.some((native) => type instanceof native))) {
      throw new Error(
        `plainRows: ${entity.name}.${field} is ${property ? `of type ${type?.constructor.name}` : 'not a property'}; ` +
          'plain rows carry only natively mapped columns. Read it through the ORM.',
      );
    }
  }
  if (seen) seen.add(key);
  else checked.set(entity, new Set([key]));
}
