import 'reflect-metadata';
import { MetadataStorage } from '@mikro-orm/core';

// MikroORM keeps entity metadata in a process-wide store that outlives a jest
// test file; the previous file's entries hold objects of its realm (a Map from
// another realm breaks discovery). Each file starts from an empty store.
MetadataStorage.clear();
