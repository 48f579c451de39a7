import { join } from 'node:path';
import type { Express } from 'express';
import type { Logger } from 'pino';
import { type Account, Accounts } from '../auth/accounts.js';
import { createApp } from '../app.js';
import type { AdminConfig, Config, DeviceConfig, UpstreamConfig, WebhookConfig } from '../config/types.js';
import { AppError, usernameTaken } from '../errors.js';
import { type Gateway, type OpenOptions, openGateway } from '../gateway.js';
import { schemaForShop } from '../store/shop-schema.js';
import { type ShopsDocument, ShopsFile, type ShopsStorage, type StoredAdmin, type StoredDevice, type StoredShop, UsernameTakenError } from './shops-file.js';

export const DEFAULT_SHOP = 'default';
export const SHOP_ID = /^[a-z0-9-]{1,40}$/;

/**
 * How often a process looks whether another changed the directory (PostgreSQL: one single-row read),
 * besides the notification each change sends: a notification lost while the LISTEN connection was
 * down is made up for on reconnecting, and at the latest after this.
 */
export const DIRECTORY_CHECK_MS = 10_000;

export type DirectoryOptions = OpenOptions & {
  /** DIRECTORY_CHECK_MS unless told (tests). */
  checkMs?: number;
};

/** ops.shopsOpenMax's default: shops open at once besides default (each costs ~0.3 MB plus its data). */
export const DEFAULT_OPEN_MAX = 100;

export interface Shop {
  id: string;
  /** config: the file's `shops[]` or its top-level keys (shop default); api: created through /api/shops. */
  origin: 'config' | 'api';
  name: string;
  currency: string;
  timeZone?: string;
  disabled: boolean;
  createdAt?: string;
  fromConfig: { devices: DeviceConfig[]; admins: AdminConfig[] };
  fromApi: { devices: StoredDevice[]; admins: StoredAdmin[] };
  upstream?: UpstreamConfig;
  webhooks: WebhookConfig[];
}

/** What answers show of a shop: never a password or a hash. */
export interface ShopView {
  id: string;
  name: string;
  currency: string;
  timeZone: string | null;
  disabled: boolean;
  origin: 'config' | 'api';
  createdAt: string | null;
  devices: { username: string; cashRegister: string; origin: 'config' | 'api' }[];
  admins: { username: string; origin: 'config' | 'api' }[];
  /** Whether its gateway is open in this process (opened on its first request). */
  open: boolean;
}

export interface OpenShop {
  gateway: Gateway;
  app: Express;
  inFlight: number;
  lastUsed: number;
}

export type Login = { operator: true; account: Account } | { operator: false; shop: string; account: Account };

export interface ShopPatch {
  name?: string;
  currency?: string;
  timeZone?: string | null;
  disabled?: boolean;
}

/**
 * Every shop of the deployment (config ∪ stored; the config wins), the deployment-wide
 * username → shop map, the operators, and each shop's gateway, opened on its first request.
 */
export class ShopDirectory {
  private shops = new Map<string, Shop>();
  private owners = new Map<string, string>();
  private readonly operators: Accounts;
  private readonly operatorNames: Set<string>;
  private readonly opened = new Map<string, Promise<OpenShop>>();
  private readonly closing = new Map<string, Promise<void>>();
  private readonly logins = new Map<string, Accounts>();
  private writing: Promise<unknown> = Promise.resolve();
  /** A refresh queued behind `writing` and not started yet (notifications that arrive meanwhile join it). */
  private refreshQueued: Promise<void> | null = null;
  private unwatch: (() => Promise<void>) | null = null;
  private checkTimer: NodeJS.Timeout | null = null;
  /** The shops open now (opened and not closing). */
  readonly live = new Set<OpenShop>();
  /** Open from start to stop: it holds the root data dir's lock. */
  defaultShop: OpenShop | undefined;

  private constructor(
    readonly config: Config,
    readonly logger: Logger,
    private doc: ShopsDocument,
    private readonly storage: ShopsStorage,
    private readonly openOptions: OpenOptions,
  ) {
    const operators = config.operators ?? [];
    this.operators = new Accounts([], operators);
    this.operatorNames = new Set(operators.map((o) => o.username));
    this.rebuild(true);
  }

  /**
   * Reads the stored shops (lowdb: shops.json; PostgreSQL: the table shop_directory) and opens
   * shop default, which holds the root data dir's lock (lowdb) and migrates its schema (PostgreSQL).
   */
  static async open(config: Config, logger: Logger, opts: DirectoryOptions = {}): Promise<ShopDirectory> {
    const storage = await storageOf(config, logger);
    let directory: ShopDirectory | undefined;
    try {
      const doc = (await storage.read()) ?? { shops: [] };
      directory = new ShopDirectory(config, logger, doc, storage, opts);
      directory.defaultShop = await directory.gateway(DEFAULT_SHOP);
      await directory.follow(opts.checkMs ?? DIRECTORY_CHECK_MS);
      return directory;
    } catch (err) {
      if (directory) await directory.close().catch(() => undefined);
      else await storage.close();
      throw err;
    }
  }

  /**
   * PostgreSQL: the changes other processes make to the directory apply here at once (each change
   * notifies; this process then reads what changed), and every `checkMs` the version is looked at.
   * Shop default is open first: its schema is migrated.
   */
  private async follow(checkMs: number): Promise<void> {
    if (!this.storage.watch) return;
    this.unwatch = await this.storage.watch(() => void this.refresh().catch(() => undefined));
    await this.refresh();
    this.checkTimer = setInterval(() => void this.refresh().catch(() => undefined), checkMs);
    this.checkTimer.unref();
  }

  /** Brings the directory up to date with the stored document (other processes' changes), in turn with this process's own changes. */
  refresh(): Promise<void> {
    if (this.refreshQueued) return this.refreshQueued;
    const run = this.writing.then(async () => {
      this.refreshQueued = null;
      const doc = await this.storage.refresh?.();
      if (doc) await this.adopt(doc);
    });
    this.refreshQueued = run;
    this.writing = run.catch((err) => {
      if (this.refreshQueued === run) this.refreshQueued = null;
      this.logger.warn({ err }, 'reading the shop directory failed; trying again at the next change or check');
    });
    return run;
  }

  /** A newer document: the shops and usernames from it, and the open shops' accounts and currency as it says. */
  private async adopt(doc: ShopsDocument): Promise<void> {
    const before = this.shops;
    this.doc = doc;
    this.rebuild(false);
    await this.applyChanges(before);
  }

  private async applyChanges(before: Map<string, Shop>): Promise<void> {
    for (const [id, was] of before) {
      const now = this.shops.get(id);
      if (!now) continue;
      const accounts = !sameItems(was.fromApi.devices, now.fromApi.devices) || !sameItems(was.fromApi.admins, now.fromApi.admins);
      if (accounts) this.logins.delete(id);
      // The currency is read when a gateway opens: the shop reopens (its requests under way finish first).
      if (was.currency !== now.currency) await this.retire(id);
      else if (accounts) await this.inOpenShop(id, (g) => syncAccounts(g, was, now));
    }
  }

  get(id: string): Shop | undefined {
    return this.shops.get(id);
  }

  list(): Shop[] {
    return [...this.shops.values()];
  }

  /** The shop a username belongs to (device, admin or kitchen account of a shop), if any. */
  ownerOf(username: string): string | undefined {
    return this.owners.get(username);
  }

  isOperator(username: string): boolean {
    return this.operatorNames.has(username);
  }

  /** Checks credentials outside any shop's app: an operator, or an account of the shop it belongs to. */
  async login(username: string, password: string): Promise<Login | null> {
    if (this.operatorNames.has(username)) {
      const account = await this.operators.verify(username, password);
      return account ? { operator: true, account } : null;
    }
    const shop = this.owners.get(username);
    // Unknown names cost the same scrypt as known ones.
    const account = await (shop ? this.loginsOf(shop) : this.operators).verify(username, password);
    return account && shop ? { operator: false, shop, account } : null;
  }

  private loginsOf(id: string): Accounts {
    let accounts = this.logins.get(id);
    if (!accounts) {
      const shop = this.shops.get(id)!;
      const { devices, admins } = this.accountsOf(shop);
      accounts = new Accounts(devices, admins, id === DEFAULT_SHOP ? this.config.kitchen?.accounts : []);
      this.logins.set(id, accounts);
    }
    return accounts;
  }

  private accountsOf(shop: Shop): { devices: DeviceConfig[]; admins: AdminConfig[] } {
    return {
      devices: [
        ...shop.fromConfig.devices,
        ...shop.fromApi.devices.map((d) => ({ username: d.username, passwordHash: d.passwordHash, cashRegister: d.cashRegister })),
      ],
      admins: [...shop.fromConfig.admins, ...shop.fromApi.admins.map((a) => ({ username: a.username, passwordHash: a.passwordHash }))],
    };
  }

  /** The shop's gateway and app, opened now if it is not open yet. */
  gateway(id: string): Promise<OpenShop> {
    let opened = this.opened.get(id);
    if (!opened) {
      const shop = this.shops.get(id);
      if (!shop) return Promise.reject(new AppError('not_found', `shop ${id} not found`));
      const after = this.closing.get(id) ?? Promise.resolve();
      opened = after.then(() => this.openNow(shop));
      this.opened.set(id, opened);
      // One more open: the least recently used idle ones beyond ops.shopsOpenMax close (memory stays bounded).
      opened.then(
        () => this.trim(),
        () => undefined,
      );
      // A shop that failed to open is tried again on its next request.
      opened.catch(() => {
        if (this.opened.get(id) === opened) this.opened.delete(id);
      });
    }
    return opened;
  }

  isOpen(id: string): boolean {
    return this.opened.has(id);
  }

  private async openNow(shop: Shop): Promise<OpenShop> {
    const started = Date.now();
    const config = this.configOf(shop);
    const logger = shop.id === DEFAULT_SHOP ? this.logger : this.logger.child({ shop: shop.id });
    const gateway = await openGateway(config, logger, this.openOptions);
    // The API's accounts are the directory's: changed at run time, in place (putManaged).
    for (const d of shop.fromApi.devices) gateway.accounts.putManaged({ username: d.username, role: 'device', cashRegister: d.cashRegister }, d);
    for (const a of shop.fromApi.admins) gateway.accounts.putManaged({ username: a.username, role: 'admin' }, a);
    if (shop.id !== DEFAULT_SHOP) logger.info({ ms: Date.now() - started }, `opened shop ${shop.id}`);
    // The web back office is shop default's (its sign-in names no shop): the other shops' apps go without it.
    const open = { gateway, app: createApp(gateway, { webBackOffice: shop.id === DEFAULT_SHOP }), inFlight: 0, lastUsed: Date.now() };
    this.live.add(open);
    return open;
  }

  /**
   * Shop default is the top-level config as it is (byte for byte); another shop gets its own data
   * dir and settings, and on PostgreSQL its own schema (schemaForShop) in the same database.
   */
  private configOf(shop: Shop): Config {
    const { devices, admins } = this.accountsOf(shop);
    if (shop.id === DEFAULT_SHOP) return { ...this.config, devices, admins };
    return {
      ...this.config,
      store: {
        ...this.config.store,
        dataDir: shopDataDir(this.config.store.dataDir, shop.id),
        seedDemo: false,
        ...(this.config.store.postgres && { postgres: { ...this.config.store.postgres, schema: schemaForShop(shop.id) } }),
      },
      currency: shop.currency,
      timeZone: shop.timeZone ?? this.config.timeZone,
      devices,
      admins,
      upstream: shop.upstream,
      webhooks: shop.webhooks,
      kitchen: undefined,
      shops: undefined,
      operators: [],
    };
  }

  /** Closes a shop's gateway once its requests are answered; its next request opens it again. */
  private retire(id: string): Promise<void> {
    const opened = this.opened.get(id);
    if (!opened) return this.closing.get(id) ?? Promise.resolve();
    this.opened.delete(id);
    const closed = opened.then(
      async (o) => {
        this.live.delete(o);
        await drained(o);
        await o.gateway.close();
      },
      () => undefined,
    );
    const done = closed.finally(() => {
      if (this.closing.get(id) === done) this.closing.delete(id);
    });
    this.closing.set(id, done);
    return done;
  }

  private trimming = false;

  private async trim(): Promise<void> {
    if (this.trimming) return;
    this.trimming = true;
    try {
      await this.closeIdle(this.config.ops.shopsOpenMax ?? DEFAULT_OPEN_MAX);
    } catch (err) {
      this.logger.warn({ err }, 'closing idle shops failed');
    } finally {
      this.trimming = false;
    }
  }

  /**
   * Keeps at most `max` shops open besides default: the least recently used close, among those
   * with no request under way and nothing waiting in their outbox (a closed shop forwards nothing).
   */
  async closeIdle(max: number): Promise<number> {
    const open: { id: string; shop: OpenShop }[] = [];
    for (const [id, p] of this.opened) {
      if (id === DEFAULT_SHOP) continue;
      const shop = await p.catch(() => null);
      if (shop && this.live.has(shop)) open.push({ id, shop });
    }
    const excess = open.length - max;
    if (excess <= 0) return 0;
    const closable = open.filter((o) => o.shop.inFlight === 0 && !(o.shop.gateway.forwarding?.targets().some((t) => t.depth > 0) ?? false));
    closable.sort((a, b) => a.shop.lastUsed - b.shop.lastUsed);
    const closing = closable.slice(0, excess);
    await Promise.all(closing.map((o) => this.retire(o.id)));
    return closing.length;
  }

  async close(): Promise<void> {
    if (this.checkTimer) clearInterval(this.checkTimer);
    this.checkTimer = null;
    await this.unwatch?.();
    this.unwatch = null;
    const ids = [...this.opened.keys()];
    // Default last: it holds the root data dir's lock.
    ids.sort((a, b) => (a === DEFAULT_SHOP ? 1 : 0) - (b === DEFAULT_SHOP ? 1 : 0));
    for (const id of ids) await this.retire(id);
    await Promise.all(this.closing.values());
    await this.storage.close();
  }

  view(shop: Shop): ShopView {
    return {
      id: shop.id,
      name: shop.name,
      currency: shop.currency,
      timeZone: shop.timeZone ?? null,
      disabled: shop.disabled,
      origin: shop.origin,
      createdAt: shop.createdAt ?? null,
      devices: [
        ...shop.fromConfig.devices.map((d) => ({ username: d.username, cashRegister: d.cashRegister, origin: 'config' as const })),
        ...shop.fromApi.devices.map((d) => ({ username: d.username, cashRegister: d.cashRegister, origin: 'api' as const })),
      ],
      admins: [
        ...shop.fromConfig.admins.map((a) => ({ username: a.username, origin: 'config' as const })),
        ...shop.fromApi.admins.map((a) => ({ username: a.username, origin: 'api' as const })),
      ],
      open: this.opened.has(shop.id),
    };
  }

  // ---- changes (management API): durable (shops.json or the table shop_directory) before the answer, in effect at once ----

  async create(input: { id: string; name?: string; currency?: string; timeZone?: string }, at: Date): Promise<Shop> {
    return this.change(input.id, (doc) => {
      if (this.shops.has(input.id) || doc.shops.some((s) => s.id === input.id)) throw new AppError('already_exists', `shop ${input.id} already exists`);
      doc.shops.push({
        id: input.id,
        ...(input.name !== undefined && { name: input.name }),
        currency: input.currency ?? this.config.currency,
        ...(input.timeZone !== undefined && { timeZone: input.timeZone }),
        createdAt: at.toISOString(),
        devices: [],
        admins: [],
      });
    });
  }

  async update(id: string, patch: ShopPatch, at: Date): Promise<Shop> {
    const before = this.mustGet(id);
    const settings = (['name', 'currency', 'timeZone'] as const).filter((k) => patch[k] !== undefined);
    if (before.origin === 'config' && settings.length > 0) {
      throw new AppError(
        'shop_in_config',
        `shop ${id} is set in the config file: change its ${settings.join(', ')} there (only "disabled" can be changed here)`,
      );
    }
    return this.change(id, (doc) => {
      const stored = storedOf(doc, id, at);
      if (patch.name !== undefined) stored.name = patch.name;
      if (patch.currency !== undefined) stored.currency = patch.currency;
      if (patch.timeZone === null) delete stored.timeZone;
      else if (patch.timeZone !== undefined) stored.timeZone = patch.timeZone;
      if (patch.disabled !== undefined) stored.disabled = patch.disabled;
    });
  }

  async putDevice(id: string, device: StoredDevice, at: Date): Promise<{ shop: Shop; created: boolean }> {
    this.mustGet(id);
    let created = false;
    const shop = await this.change(id, (doc) => {
      this.assertFree(id, device.username, 'devices');
      const stored = storedOf(doc, id, at);
      created = !stored.devices.some((d) => d.username === device.username);
      stored.devices = [...stored.devices.filter((d) => d.username !== device.username), device];
    });
    return { shop, created };
  }

  async putAdmin(id: string, admin: StoredAdmin, at: Date): Promise<{ shop: Shop; created: boolean }> {
    this.mustGet(id);
    let created = false;
    const shop = await this.change(id, (doc) => {
      this.assertFree(id, admin.username, 'admins');
      const stored = storedOf(doc, id, at);
      created = !stored.admins.some((a) => a.username === admin.username);
      stored.admins = [...stored.admins.filter((a) => a.username !== admin.username), admin];
    });
    return { shop, created };
  }

  async removeAccount(id: string, list: 'devices' | 'admins', username: string, at: Date): Promise<Shop> {
    this.mustGet(id);
    return this.change(id, (doc) => {
      const shop = this.mustGet(id);
      if (shop.fromConfig[list].some((a) => a.username === username)) {
        throw new AppError('shop_in_config', `${username} is set in the config file: remove it there`);
      }
      if (!shop.fromApi[list].some((a) => a.username === username))
        throw new AppError('not_found', `${list === 'devices' ? 'device' : 'admin'} ${username} not found in shop ${id}`);
      const stored = storedOf(doc, id, at);
      if (list === 'devices') stored.devices = stored.devices.filter((d) => d.username !== username);
      else stored.admins = stored.admins.filter((a) => a.username !== username);
    });
  }

  private mustGet(id: string): Shop {
    const shop = this.shops.get(id);
    if (!shop) throw new AppError('not_found', `shop ${id} not found`);
    return shop;
  }

  /** A username names one account of one shop, deployment-wide; an account of this shop's API list may be replaced. */
  private assertFree(id: string, username: string, list: 'devices' | 'admins'): void {
    const owner = this.owners.get(username);
    const shop = this.shops.get(id)!;
    const replacing = owner === id && shop.fromApi[list].some((a) => a.username === username);
    const takenInDefault = owner === undefined && this.defaultHas(username);
    if ((owner !== undefined && !replacing) || this.operatorNames.has(username) || takenInDefault) throw usernameTaken(username);
  }

  /** Shop default's back office may have created devices the directory does not list. */
  private defaultHas(username: string): boolean {
    return this.defaultShop?.gateway.accounts.has(username) === true;
  }

  private async inOpenShop(id: string, apply: (g: Gateway) => void): Promise<void> {
    const opened = this.opened.get(id);
    if (!opened) return;
    const shop = await opened.catch(() => null);
    if (shop) apply(shop.gateway);
  }

  /**
   * One change at a time: applied to the latest document (on PostgreSQL with every other process's
   * changes: the checks in `edit` see them), written durably, then in effect here (and, notified,
   * in the other processes). Only the changed shop is copied: the others keep their objects.
   */
  private change(id: string, edit: (doc: ShopsDocument) => void): Promise<Shop> {
    const run = this.writing.then(async () => {
      const before = this.shops;
      try {
        const doc = await this.storage.change(id, (latest) => {
          if (latest !== this.doc) {
            this.doc = latest;
            this.rebuild(false);
          }
          const next = { shops: latest.shops.map((s) => (s.id === id ? structuredClone(s) : s)) };
          edit(next);
          return next;
        });
        this.doc = doc;
        this.rebuild(false);
        return this.shops.get(id)!;
      } catch (err) {
        if (err instanceof UsernameTakenError) throw usernameTaken(err.username);
        throw err;
      } finally {
        // Whatever the change did, the open shops follow what the directory now says (other processes' changes included).
        await this.applyChanges(before);
      }
    });
    this.writing = run.catch(() => undefined);
    return run;
  }

  /** The shops and the username map from the config file and the document; the config file wins. */
  private rebuild(starting: boolean): void {
    const c = this.config;
    const stored = new Map(this.doc.shops.map((s) => [s.id, s]));
    const shops = new Map<string, Shop>();
    const owners = new Map<string, string>();
    const fromConfig: Omit<Shop, 'fromApi' | 'disabled'>[] = [
      {
        id: DEFAULT_SHOP,
        origin: 'config',
        name: DEFAULT_SHOP,
        currency: c.currency,
        timeZone: c.timeZone,
        fromConfig: { devices: c.devices, admins: c.admins },
        upstream: c.upstream,
        webhooks: c.webhooks,
      },
      ...(c.shops ?? []).map((s) => ({
        id: s.id,
        origin: 'config' as const,
        name: s.name ?? s.id,
        currency: s.currency ?? c.currency,
        timeZone: s.timeZone,
        fromConfig: { devices: s.devices ?? [], admins: s.admins ?? [] },
        upstream: s.upstream,
        webhooks: s.webhooks ?? [],
      })),
    ];
    for (const shop of fromConfig) {
      for (const a of [...shop.fromConfig.devices, ...shop.fromConfig.admins]) owners.set(a.username, shop.id);
      const kept = stored.get(shop.id);
      if (starting && kept && shop.id !== DEFAULT_SHOP && (kept.name !== undefined || kept.currency !== undefined || kept.timeZone !== undefined)) {
        this.logger.warn(
          { shop: shop.id },
          `shop ${shop.id} is in the config file and in ${this.storage.name}: the config file's settings win (devices and admins added through the API are kept)`,
        );
      }
      shops.set(shop.id, { ...shop, disabled: kept?.disabled === true, fromApi: { devices: [], admins: [] } });
    }
    for (const k of c.kitchen?.accounts ?? []) owners.set(k.username, DEFAULT_SHOP);
    for (const s of this.doc.shops) {
      if (!shops.has(s.id)) {
        shops.set(s.id, {
          id: s.id,
          origin: 'api',
          name: s.name ?? s.id,
          currency: s.currency ?? c.currency,
          timeZone: s.timeZone,
          disabled: s.disabled === true,
          createdAt: s.createdAt,
          fromConfig: { devices: [], admins: [] },
          fromApi: { devices: [], admins: [] },
          webhooks: [],
        });
      }
      const shop = shops.get(s.id)!;
      for (const list of ['devices', 'admins'] as const) {
        for (const a of s[list] ?? []) {
          if (owners.has(a.username) || this.operatorNames.has(a.username)) {
            if (starting)
              this.logger.warn(
                { shop: s.id, username: a.username },
                `${a.username} added to shop ${s.id} through the API is ignored: the config file now has an account with that name`,
              );
            continue;
          }
          owners.set(a.username, s.id);
          (shop.fromApi[list] as StoredAdmin[]).push(a);
        }
      }
    }
    this.shops = shops;
    this.owners = owners;
    this.applyTimeZones();
  }

  /** An open shop's time zone changes in place (no reopening): the next change it receives counts on its local date in the new zone. */
  private applyTimeZones(): void {
    for (const [id, opened] of this.opened) {
      const zone = this.shops.get(id)?.timeZone ?? this.config.timeZone;
      opened.then((o) => o.gateway.backOffice.timeZone.set(zone)).catch(() => undefined);
    }
  }
}

async function storageOf(config: Config, logger: Logger): Promise<ShopsStorage> {
  const pg = config.store.postgres;
  if (!pg) return new ShopsFile(config.store.dataDir);
  const { ShopDirectoryTable } = await import('../store/postgres/shop-directory-table.js');
  return new ShopDirectoryTable(pg, logger);
}

const sameItems = <T>(a: T[], b: T[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** The API's accounts of an open shop as the directory now has them (the config file's are left alone). */
function syncAccounts(gateway: Gateway, was: Shop, now: Shop): void {
  const kept = new Set([...now.fromApi.devices, ...now.fromApi.admins].map((a) => a.username));
  for (const a of [...was.fromApi.devices, ...was.fromApi.admins]) if (!kept.has(a.username)) gateway.accounts.removeManaged(a.username);
  const old = new Set<StoredAdmin>([...was.fromApi.devices, ...was.fromApi.admins]);
  for (const d of now.fromApi.devices) if (!old.has(d)) gateway.accounts.putManaged({ username: d.username, role: 'device', cashRegister: d.cashRegister }, d);
  for (const a of now.fromApi.admins) if (!old.has(a)) gateway.accounts.putManaged({ username: a.username, role: 'admin' }, a);
}

function storedOf(doc: ShopsDocument, id: string, at: Date): StoredShop {
  let stored = doc.shops.find((s) => s.id === id);
  if (!stored) {
    stored = { id, createdAt: at.toISOString(), devices: [], admins: [] };
    doc.shops.push(stored);
  }
  stored.devices ??= [];
  stored.admins ??= [];
  return stored;
}

export const shopDataDir = (root: string, id: string) => join(root, 'shops', id);

async function drained(shop: OpenShop, limitMs = 10_000): Promise<void> {
  const until = Date.now() + limitMs;
  while (shop.inFlight > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
}
