import { Entity, Enum, PrimaryKey, Property } from '@mikro-orm/core';

export enum FeatureKind {
  /** Included or not. */
  Flag = 'flag',
  /** A number (null: unlimited). */
  Limit = 'limit',
  /** A short description (e.g. the support tier). */
  Text = 'text',
}

/** One row of the pricing page's comparison matrix; each plan says its value. */
@Entity({ schema: 'platform', tableName: 'feature' })
export class Feature {
  @PrimaryKey({ type: 'text' })
  key!: string;

  @Property({ type: 'text' })
  name!: string;

  @Property({ type: 'text', nullable: true })
  description?: string | null;

  @Enum({ items: () => FeatureKind, type: 'text' })
  kind!: FeatureKind;

  @Property({ type: 'integer' })
  sortOrder!: number;
}
