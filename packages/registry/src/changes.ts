import type { EntryId } from '@luact/core';
import type { EntryDefinition } from './definition.js';
import type { Entry } from './entry.js';

/** One operation of a change set. */
export type Change =
  | { readonly op: 'create'; readonly definition: EntryDefinition }
  | { readonly op: 'update'; readonly definition: EntryDefinition }
  | { readonly op: 'delete'; readonly id: EntryId };

/** Operations validated as a whole and applied all together or not at all. */
export type ChangeSet = readonly Change[];

/** What an applied change set did to one entry. */
export type EntryChange =
  | { readonly type: 'created'; readonly entry: Entry }
  | { readonly type: 'updated'; readonly entry: Entry; readonly previous: Entry }
  | { readonly type: 'deleted'; readonly previous: Entry };
