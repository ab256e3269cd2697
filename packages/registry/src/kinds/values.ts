import { type Infer, object, optional, required, string } from '../schema/index.js';

/** `registry.entry`: free-form data for applications to read. */
export const registryEntry = object({}, { open: true });

export type RegistryEntryConfig = Readonly<Record<string, unknown>>;

/** `env.variable`: a named, documented view of one environment variable. */
export const envVariable = object({
  variable: required(
    string({ pattern: /^[A-Za-z_][A-Za-z0-9_]*$/, hint: 'an environment variable name' }),
  ),
  default: optional(string()),
});

export type EnvVariableConfig = Infer<typeof envVariable>;
