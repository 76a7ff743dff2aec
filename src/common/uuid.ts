import { v7 } from 'uuid';

/** Time-ordered UUIDs (RFC 9562 v7): index-friendly primary keys that sort by creation. */
export const newId = (): string => v7();
