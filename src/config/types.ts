/** The configuration after loading: every default filled in, env overrides applied, `store.dataDir` absolute. */
export interface Config {
  server: { host: string; port: number; bodyLimit: string; trustProxy: boolean | string | number };
  tabshop: { basePath: string; legacy: boolean; maxInvoicesPerPush: number };
  api: { basePath: string };
  store: { dataDir: string; seedDemo: boolean; postgres?: PostgresConfig };
  currency: string;
  /** IANA zone of shop default (and of shops that name none): the calendar of stats, the clock of printouts; absent: UTC. */
  timeZone?: string;
  logLevel: LogLevel;
  devices: DeviceConfig[];
  admins: AdminConfig[];
  upstream?: UpstreamConfig;
  webhooks: WebhookConfig[];
  /** The web back office at /admin/. */
  admin: { sessionIdleMinutes: number };
  /** Absent: no kitchen display (src/kitchen). */
  kitchen?: KitchenConfig;
  ops: {
    metricsRequireAdmin: boolean;
    allowDemoCredentials: boolean;
    statusPage: boolean;
    outboxMaxAgeSeconds: number;
    diskLowFreeMiB: number;
    diskLowFreePercent: number;
    /** Several shops: most shops open at once besides default (src/shops); default 100. */
    shopsOpenMax?: number;
  };
  /** Shops besides `default` (the top-level keys); absent: one shop, as before issue 15. */
  shops?: ShopConfig[];
  /** Accounts that manage the shops (src/shops). */
  operators?: AdminConfig[];
}

/** `shops[]`: a shop of the deployment, its own data dir under `<dataDir>/shops/<id>/`. */
export interface ShopConfig {
  id: string;
  name?: string;
  currency?: string;
  timeZone?: string;
  devices: DeviceConfig[];
  admins: AdminConfig[];
  upstream?: UpstreamConfig;
  webhooks: WebhookConfig[];
}

/** `store.postgres` (or DATABASE_URL): the PostgreSQL store instead of lowdb. */
export interface PostgresConfig {
  url: string;
  /** Connections in the pool (default 10). */
  poolSize: number;
  /** The PostgreSQL schema of the store's tables (default public). */
  schema?: string;
  /** Where the other processes on this database forward requests while this one leads. */
  advertiseUrl?: string;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Exactly one of `password` (plain text) or `passwordHash` (scrypt, see password.ts). */
export type Credential = { username: string; password: string; passwordHash?: undefined } | { username: string; passwordHash: string; password?: undefined };

export type DeviceConfig = Credential & { cashRegister: string };
export type AdminConfig = Credential;

export interface UpstreamConfig {
  baseUrl: string;
  username?: string;
  password?: string;
  apiKey?: string;
  timeoutMs: number;
  pollIntervalMs: number;
  breakerFailures: number;
  breakerCooldownMs: number;
  retryCapMs: number;
}

export type WebhookEvent = 'sale.created' | 'sale.reversed' | 'sale.updated' | 'kitchen.order' | 'quarantine.added';

export interface WebhookConfig {
  url: string;
  secret: string;
  /** Absent: every event. */
  events?: WebhookEvent[];
  timeoutMs: number;
  retryCapMs: number;
}

/** `kitchen`: TabShop's kitchen orders over raw TCP, the /kitchen screen and /api/kitchen. */
export interface KitchenConfig {
  host: string;
  /** null: no TCP listener in this process (KITCHEN_PORT=off); the screen and API still work. */
  port: number | null;
  /** Addresses or CIDR subnets allowed to send; absent: every address. */
  allow?: string[];
  ratePerSecond: number;
  recall: number;
  accounts: Credential[];
}
