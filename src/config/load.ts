import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyEnvOverrides, readEnvOverrides } from './env.js';
import type { Config } from './types.js';
import { validateConfigData } from './validate.js';

export type {
  AdminConfig,
  Config,
  Credential,
  DeviceConfig,
  KitchenConfig,
  LogLevel,
  PostgresConfig,
  ShopConfig,
  UpstreamConfig,
  WebhookConfig,
  WebhookEvent,
} from './types.js';

/** The package's embedded demo config; `dist/config` and `src/config` are both one level below the package root. */
export const EXAMPLE_CONFIG_PATH = fileURLToPath(new URL('../../config.example.json', import.meta.url));

/** The plain-text passwords of config.example.json: a config using any of them is a demo. */
export const DEMO_PASSWORDS: readonly string[] = ['demo-tablet-1', 'demo-tablet-2', 'demo-admin', 'demo-kitchen'];

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

export interface LoadConfigOptions {
  file?: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export interface LoadedConfig {
  config: Config;
  /** Absolute path of the file that was read. */
  configPath: string;
  /** The embedded example, or a config that still uses one of its demo passwords. */
  isDemo: boolean;
}

function chooseConfigPath(file: string | undefined, cwd: string): string {
  if (file !== undefined) return resolve(cwd, file);
  const local = resolve(cwd, 'config.json');
  return existsSync(local) ? local : EXAMPLE_CONFIG_PATH;
}

function readJson(path: string): { data?: unknown; problem?: string } {
  let text: string;
  try {
    // Editors on Windows like to save a byte-order mark, which JSON.parse rejects.
    text = readFileSync(path, 'utf8').replace(/^\uFEFF/, '');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { problem: `config file not found: ${path}` };
    return { problem: `${path}: cannot read: ${oneLine((err as Error).message)}` };
  }
  try {
    return { data: JSON.parse(text) };
  } catch (err) {
    return { problem: `${path}: invalid JSON: ${jsonErrorMessage((err as Error).message, text)}` };
  }
}

/** V8 quotes the offending text in its message; drop it (it may hold a password) and name line and column. */
function jsonErrorMessage(message: string, text: string): string {
  const withoutSnippet = oneLine(message).replace(/, ".*" is not valid JSON$/, '');
  const position = /at position (\d+)/.exec(withoutSnippet);
  if (!position || /\bline\b/.test(withoutSnippet)) return withoutSnippet;
  const before = text.slice(0, Number(position[1])).split('\n');
  return `${withoutSnippet} (line ${before.length} column ${before[before.length - 1].length + 1})`;
}

const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ');

function usesDemoPassword(config: Config): boolean {
  return [...config.devices, ...config.admins, ...(config.kitchen?.accounts ?? [])].some(
    (c) => c.password !== undefined && DEMO_PASSWORDS.includes(c.password),
  );
}

/** Loads, validates and completes the config; throws ConfigError listing every problem, one line each. */
export function loadConfig(opts: LoadConfigOptions): LoadedConfig {
  const configPath = chooseConfigPath(opts.file, opts.cwd);
  const env = readEnvOverrides(opts.env, opts.cwd);
  const file = readJson(configPath);
  if (file.problem !== undefined) throw new ConfigError([file.problem, ...env.problems]);

  const problems = [...validateConfigData(file.data), ...env.problems];
  if (problems.length > 0) throw new ConfigError(problems);

  const config = file.data as Config & { $schema?: string };
  delete config.$schema;
  // With `shops`, the top-level shop ("default") may have no devices of its own.
  config.devices ??= [];
  const isExample = configPath === EXAMPLE_CONFIG_PATH;
  // The embedded example lives inside the installed package; its "./data" means the user's current folder.
  config.store.dataDir = resolve(isExample ? opts.cwd : dirname(configPath), config.store.dataDir);
  applyEnvOverrides(config, env.overrides);

  return { config, configPath, isDemo: isExample || usesDemoPassword(config) };
}
