import { object } from '../schema/index.js';

/** `registry.entry`: free-form data for applications to read. */
export const registryEntry = object({}, { open: true });

export type RegistryEntryConfig = Readonly<Record<string, unknown>>;
