import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';
import { ConfigError } from '../core/errors.js';
import { readConfigFile, type ConfigFile } from './config-file.js';
import { coreConfigSchema, type ConfigSection, type CoreConfig } from './config-schema.js';

export { unreadable } from './config-file.js';

/** Every configuration value, core keys typed; doors read theirs with `configSection`. */
export type Config = CoreConfig & Record<string, unknown>;

/** Where configuration comes from, in rising precedence: file, environment, explicit overrides. */
export interface ConfigSources {
  /**
   * A dotenv-syntax file (`KEY=value`, `#` comments, quotes): its path, read and checked here, or
   * the file as a caller already read it (`readConfigFile`), so both see the same text.
   */
  file?: string | ConfigFile;
  /** Environment variables (usually `process.env`). */
  env?: Record<string, string | undefined>;
  /** Values set by command-line flags or tests. */
  overrides?: Record<string, unknown>;
}

/** Merges sections into one schema; a key declared twice is a programming error. */
export function mergeSections(sections: readonly ConfigSection[]): ConfigSection {
  const properties: Record<string, unknown> = {};
  for (const section of sections) {
    for (const [key, schema] of Object.entries(section.properties)) {
      if (key in properties) throw new Error(`configuration key ${key} is declared twice`);
      properties[key] = schema;
    }
  }
  return Type.Object(properties as never);
}

/** What a number key takes, in words: "a whole number from 0 to 65535", "a number above 0". */
function describeNumber(schema: Record<string, unknown>): string {
  const noun = schema.type === 'integer' ? 'a whole number' : 'a number';
  const { minimum: min, maximum: max, exclusiveMinimum: above } = schema;
  if (min !== undefined && max !== undefined) return `${noun} from ${String(min)} to ${String(max)}`;
  const parts = [noun];
  if (min !== undefined) parts.push(`of at least ${String(min)}`);
  if (above !== undefined) parts.push(`above ${String(above)}`);
  if (max !== undefined) parts.push(`of at most ${String(max)}`);
  return parts.join(' ');
}

function describeExpected(schema: Record<string, unknown>): string {
  // A key may say in words what a pattern says in a regular expression.
  if (typeof schema.expected === 'string') return schema.expected;
  if (schema.anyOf) return `one of ${(schema.anyOf as { const: unknown }[]).map((s) => JSON.stringify(s.const)).join(', ')}`;
  if (schema.type === 'integer' || schema.type === 'number') return describeNumber(schema);
  if (schema.type === 'boolean') return 'true or false';
  const parts = [schema.type === 'string' ? 'text' : 'a value'];
  if (schema.minLength !== undefined) parts.push(`of at least ${String(schema.minLength)} ${schema.minLength === 1 ? 'character' : 'characters'}`);
  if (schema.pattern !== undefined) parts.push(`matching ${String(schema.pattern)}`);
  return parts.join(' ');
}

/**
 * The values of `file`, read now when given by its path: checked line by line for every caller, not
 * only `serve`, so a line that is not KEY=value never loses the setting after it.
 */
function fileValues(file: ConfigSources['file']): Record<string, string> {
  if (typeof file === 'string') return file ? readConfigFile(file).values : {};
  return file?.values ?? {};
}

/**
 * Loads and validates the configuration: every key of every section from the file, the environment
 * and the overrides, converted to its type, defaults applied. The first bad value stops start-up
 * with a ConfigError naming the key, what was given and what is expected.
 */
export function loadConfig(sections: readonly ConfigSection[], sources: ConfigSources = {}): Config {
  const schema = mergeSections([coreConfigSchema, ...sections]);
  const fromFile = fileValues(sources.file);
  const filePath = typeof sources.file === 'string' ? sources.file : sources.file?.path;
  const env = sources.env ?? {};
  const raw: Record<string, unknown> = {};
  /** Where each key's value came from, for a refusal to say where to mend it. */
  const origins: Record<string, string> = {};
  for (const key of Object.keys(schema.properties)) {
    // An explicitly empty string is a value for string keys (e.g. "no public URL"). For any other
    // key it is no value: the next source's is taken (an empty PAIRGATE_PORT= in the environment,
    // which compose files make of an unset variable, hid the file's port and gave the default).
    const takesEmpty = (schema.properties[key] as { type?: string }).type === 'string';
    const given = [sources.overrides?.[key], env[key], fromFile[key]];
    const index = given.findIndex((value) => value !== undefined && (takesEmpty || value !== ''));
    if (index < 0) continue;
    raw[key] = given[index];
    if (index === 1) origins[key] = ' (set in the environment)';
    if (index === 2 && filePath) origins[key] = ` (set in ${filePath})`;
  }
  // Conversion would truncate a fraction ("0.5" to 0, which turns some limits off) and read "1e3"
  // or "0x10": an integer key takes whole decimal numbers only.
  for (const [key, value] of Object.entries(raw)) {
    const property = schema.properties[key] as Record<string, unknown>;
    if (property.type === 'integer' && typeof value === 'string' && !/^\s*[+-]?\d+\s*$/.test(value)) {
      throw new ConfigError(key, `expected ${describeExpected(property)}, got ${JSON.stringify(value)}${origins[key] ?? ''}`);
    }
  }
  const converted = Value.Convert(schema, Value.Default(schema, raw));
  for (const error of Value.Errors(schema, converted)) {
    const key = error.instancePath.replace(/^\//, '').split('/')[0] || String((error.params as { requiredProperties?: string[] }).requiredProperties?.[0] ?? '?');
    const given = typeof raw[key] === 'string' ? hidePasswords(raw[key] as string) : raw[key];
    const expected = describeExpected((schema.properties[key] ?? {}) as Record<string, unknown>);
    throw new ConfigError(key, `expected ${expected}, got ${given === undefined ? 'nothing' : JSON.stringify(given)}${origins[key] ?? ''}`);
  }
  return converted as Config;
}

/**
 * `value` with a URL's passwords hidden, so they reach neither the terminal nor a log through a
 * refusal: the one after `user:` and the ones database drivers also read from the query string
 * (`?password=`, `?sslpassword=`, a key or token).
 */
function hidePasswords(value: string): string {
  return value
    .replace(/(\/\/[^:/@\s]*:)[^@\s]*@/, '$1[redacted]@')
    .replace(/([?&][\w-]*(?:password|secret|key|token)[\w-]*=)[^&#\s]*/gi, '$1[redacted]');
}

/** The values of one section, typed by its schema. */
export function configSection<Section extends ConfigSection>(config: Config, section: Section): Static<Section> {
  const values: Record<string, unknown> = {};
  for (const key of Object.keys(section.properties)) values[key] = config[key];
  return values as Static<Section>;
}

/**
 * Every key with its default and meaning, for `pairgate serve --help-config`, written as a
 * configuration file: each key's meaning a comment above it, so the listing saved to a file is a
 * starting point for `serve --config`.
 */
export function describeConfig(sections: readonly ConfigSection[]): string {
  const schema = mergeSections([coreConfigSchema, ...sections]);
  return Object.entries(schema.properties)
    .map(([key, value]) => {
      const s = value as { default?: unknown; description?: string; anyOf?: unknown };
      // The allowed values of a key that takes a few, which its description need not repeat.
      const choices = s.anyOf ? ` (${describeExpected(s as Record<string, unknown>)})` : '';
      return `# ${(s.description ?? '').replace(/\s*\n\s*/g, ' ')}${choices}\n${key}=${s.default === undefined ? '' : dotenvValue(String(s.default))}`;
    })
    .join('\n\n');
}

/** `value` as a configuration file reads it back: quoted where a `#` or spaces would be cut. */
function dotenvValue(value: string): string {
  return /[#"'\s]/.test(value) && !value.includes('"') ? `"${value}"` : value;
}
