import type { Decoder, Infer } from '../schema/index.js';
import { natsConnection, temporalClient } from './connections.js';
import {
  envStorageFile,
  envStorageMemory,
  envStorageOs,
  envStorageRouter,
  envStorageStatic,
  envVariable,
} from './env.js';
import { processHost, temporalWorker, terminalHost, workflowHost } from './hosts.js';
import { functionLua, libraryLua, processLua, workflowLua } from './lua.js';
import { processService, processSupervisor } from './services.js';
import { registryEntry } from './values.js';

const SCHEMAS = {
  'function.lua': functionLua,
  'library.lua': libraryLua,
  'process.lua': processLua,
  'workflow.lua': workflowLua,
  'process.host': processHost,
  'terminal.host': terminalHost,
  'process.service': processService,
  'process.supervisor': processSupervisor,
  'workflow.host': workflowHost,
  'nats.connection': natsConnection,
  'temporal.client': temporalClient,
  'registry.entry': registryEntry,
  'env.variable': envVariable,
  'env.storage.memory': envStorageMemory,
  'env.storage.os': envStorageOs,
  'env.storage.file': envStorageFile,
  'env.storage.static': envStorageStatic,
  'env.storage.router': envStorageRouter,
} as const;

/** The kinds of the core, each with the typed configuration its entries activate to. */
export type KindConfigs = { [K in keyof typeof SCHEMAS]: Infer<(typeof SCHEMAS)[K]> };
export type Kind = keyof KindConfigs;

/** Kinds accepted in YAML under another name, decoded by their own schema into the canonical one. */
const ALIASES: Readonly<
  Record<string, { readonly canonical: Kind; readonly schema: Decoder<unknown> }>
> = {
  'temporal.worker': { canonical: 'workflow.host', schema: temporalWorker },
};

export interface KindSchema {
  readonly canonical: Kind;
  readonly schema: Decoder<unknown>;
}

export const KINDS = Object.keys(SCHEMAS) as readonly Kind[];

/** Every kind name a definition may use, aliases included. */
export const DECLARABLE_KINDS: readonly string[] = [...KINDS, ...Object.keys(ALIASES)];

export function isKind(name: string): name is Kind {
  return Object.hasOwn(SCHEMAS, name);
}

/** The schema for a kind as declared in a definition, or undefined for an unknown kind. */
export function lookupKind(declared: string): KindSchema | undefined {
  if (isKind(declared)) return { canonical: declared, schema: SCHEMAS[declared] };
  return Object.hasOwn(ALIASES, declared) ? ALIASES[declared] : undefined;
}
