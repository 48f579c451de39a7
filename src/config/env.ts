import { resolve } from 'node:path';
import { LOG_LEVELS } from './types.js';
import type { Config, LogLevel } from './types.js';

export interface EnvOverrides {
  port?: number;
  host?: string;
  dataDir?: string;
  logLevel?: LogLevel;
  allowDemoCredentials?: boolean;
  databaseUrl?: string;
  advertiseUrl?: string;
  /** null: KITCHEN_PORT=off. */
  kitchenPort?: number | null;
  kitchenHost?: string;
}

// An empty variable (`PORT=`) counts as unset, as shells and compose files produce those easily.
const read = (env: NodeJS.ProcessEnv, name: string) => (env[name] === '' ? undefined : env[name]);

/** Reads PORT, HOST, DATA_DIR (relative to cwd), LOG_LEVEL, ALLOW_DEMO_CREDENTIALS, DATABASE_URL, ADVERTISE_URL, KITCHEN_PORT and KITCHEN_HOST; problems are one line each, naming the variable. */
export function readEnvOverrides(env: NodeJS.ProcessEnv, cwd: string): { overrides: EnvOverrides; problems: string[] } {
  const overrides: EnvOverrides = {};
  const problems: string[] = [];

  const port = read(env, 'PORT');
  if (port !== undefined) {
    if (/^[0-9]{1,5}$/.test(port) && Number(port) <= 65535) overrides.port = Number(port);
    else problems.push('PORT: must be an integer 0-65535');
  }

  const host = read(env, 'HOST');
  if (host !== undefined) overrides.host = host;

  const dataDir = read(env, 'DATA_DIR');
  if (dataDir !== undefined) overrides.dataDir = resolve(cwd, dataDir);

  const logLevel = read(env, 'LOG_LEVEL');
  if (logLevel !== undefined) {
    if ((LOG_LEVELS as readonly string[]).includes(logLevel)) overrides.logLevel = logLevel as LogLevel;
    else problems.push(`LOG_LEVEL: must be one of ${LOG_LEVELS.join(', ')}`);
  }

  const allowDemo = read(env, 'ALLOW_DEMO_CREDENTIALS');
  if (allowDemo !== undefined) {
    const flag = BOOLEAN_WORDS[allowDemo.toLowerCase()];
    if (flag !== undefined) overrides.allowDemoCredentials = flag;
    else problems.push('ALLOW_DEMO_CREDENTIALS: must be true or false (1/0, yes/no also work)');
  }

  const databaseUrl = read(env, 'DATABASE_URL');
  if (databaseUrl !== undefined) {
    if (POSTGRES_URL.test(databaseUrl)) overrides.databaseUrl = databaseUrl;
    else problems.push('DATABASE_URL: must be a postgres:// or postgresql:// URL');
  }

  const advertiseUrl = read(env, 'ADVERTISE_URL');
  if (advertiseUrl !== undefined) {
    if (ADVERTISE_URL.test(advertiseUrl)) overrides.advertiseUrl = advertiseUrl;
    else problems.push('ADVERTISE_URL: must be an http:// origin such as http://10.0.0.5:8080 (the gateway speaks plain HTTP)');
  }

  const kitchenPort = read(env, 'KITCHEN_PORT');
  if (kitchenPort !== undefined) {
    if (kitchenPort.toLowerCase() === 'off') overrides.kitchenPort = null;
    else if (/^[0-9]{1,5}$/.test(kitchenPort) && Number(kitchenPort) <= 65535) overrides.kitchenPort = Number(kitchenPort);
    else problems.push('KITCHEN_PORT: must be an integer 0-65535 or "off"');
  }

  const kitchenHost = read(env, 'KITCHEN_HOST');
  if (kitchenHost !== undefined) overrides.kitchenHost = kitchenHost;

  return { overrides, problems };
}

const ADVERTISE_URL = /^http:\/\/[^\s/]+\/?$/;
export const POSTGRES_URL = /^postgres(ql)?:\/\/\S*$/;

const BOOLEAN_WORDS: Record<string, boolean> = { true: true, '1': true, yes: true, false: false, '0': false, no: false };

export function applyEnvOverrides(config: Config, overrides: EnvOverrides): void {
  if (overrides.port !== undefined) config.server.port = overrides.port;
  if (overrides.host !== undefined) config.server.host = overrides.host;
  if (overrides.dataDir !== undefined) config.store.dataDir = overrides.dataDir;
  if (overrides.logLevel !== undefined) config.logLevel = overrides.logLevel;
  if (overrides.allowDemoCredentials !== undefined) config.ops.allowDemoCredentials = overrides.allowDemoCredentials;
  if (overrides.databaseUrl !== undefined) config.store.postgres = { poolSize: 10, ...config.store.postgres, url: overrides.databaseUrl };
  if (overrides.advertiseUrl !== undefined && config.store.postgres) config.store.postgres.advertiseUrl = overrides.advertiseUrl;
  if (config.kitchen && overrides.kitchenPort !== undefined) config.kitchen.port = overrides.kitchenPort;
  if (config.kitchen && overrides.kitchenHost !== undefined) config.kitchen.host = overrides.kitchenHost;
}
