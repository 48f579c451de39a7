import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { AxiosInstance, CreateAxiosDefaults, Method } from 'axios';
import { AppError, type ErrorCode } from '../errors.js';
import { CircuitBreaker, type BreakerState } from './breaker.js';
import { redactUrl } from '../ops/safe-target.js';

export const USER_AGENT = 'tabshop-gateway';

export interface HttpClientOptions {
  /** Upstream: `upstream.baseUrl` (normalised here); webhooks: the hook URL, used exactly as given. */
  baseUrl: string;
  timeoutMs: number;
  username?: string;
  password?: string;
  /** srv4pos sends a register's API key as `Authorization: Basic base64(apiKey)`; it wins over username/password. */
  apiKey?: string;
  breaker?: { failures: number; cooldownMs: number; onChange?: (state: BreakerState, failures: number) => void };
  /** Called once per request that went out (or failed to). */
  onRequest?: (event: { method: string; path: string; status: number | null; ms: number; error?: string }) => void;
  now?: () => number;
}

export interface HttpResult {
  status: number;
  data: unknown;
  headers: Record<string, string | undefined>;
}

export type FailureKind = 'network' | 'timeout' | 'breaker_open' | 'aborted';

/** A request that got no HTTP answer. Maps onto the error catalog (upstream_unavailable / upstream_timeout). */
export class UpstreamError extends AppError {
  constructor(
    readonly kind: FailureKind,
    message: string,
    readonly retryAt: number | null = null,
  ) {
    super(kind === 'timeout' ? 'upstream_timeout' : 'upstream_unavailable', message);
  }
}

/** Strips trailing slashes once, so `${base}/sales` is right whether the config ends in "/" or not (a `{sellerId}` segment is kept). */
export function normaliseBaseUrl(raw: string): string {
  const url = new URL(raw);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`upstream URL must be http(s): ${raw}`);
  url.hash = '';
  url.pathname = url.pathname.replace(/\/+$/, '');
  return url.toString().replace(/\/+(\?|$)/, '$1');
}

export function authorizationHeader(opts: Pick<HttpClientOptions, 'username' | 'password' | 'apiKey'>): string | undefined {
  if (opts.apiKey) return `Basic ${Buffer.from(opts.apiKey).toString('base64')}`;
  if (opts.username !== undefined) return `Basic ${Buffer.from(`${opts.username}:${opts.password ?? ''}`).toString('base64')}`;
  return undefined;
}

/** What a delivery answer means for the outbox. */
export type Verdict = 'delivered' | 'retry' | 'permanent';

/**
 * 2xx delivered; a 409 on a create (POST /sales) means upstream already has the sale, unless it
 * says the identifier holds a different sale; 408, 429 and 5xx are worth retrying; the rest
 * (other 4xx, and redirects, which a POST must not follow) will not get better by retrying.
 */
export function classifyStatus(status: number, opts: { create?: boolean; errorCode?: string | null } = {}): Verdict {
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 409 && opts.create && opts.errorCode !== 'sale_collision') return 'delivered';
  if (status === 408 || status === 429 || status >= 500) return 'retry';
  return 'permanent';
}

/** Statuses that say the other side is unwell (count towards the breaker). */
export const isFailureStatus = (status: number) => status === 408 || status === 429 || status >= 500;

/** The error code of either error shape: ours `{"error":{"code"}}`, srv4pos's `{"error":"NameJsonException"}`. */
export function errorCodeOf(data: unknown): string | null {
  const error = data !== null && typeof data === 'object' ? (data as { error?: unknown }).error : undefined;
  if (typeof error === 'string') return error;
  if (error !== null && typeof error === 'object' && typeof (error as { code?: unknown }).code === 'string') return (error as { code: string }).code;
  return null;
}

export function excerpt(data: unknown, max = 500): string {
  const text = typeof data === 'string' ? data : data === undefined ? '' : JSON.stringify(data);
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/**
 * One upstream (or webhook) endpoint over axios: explicit timeout, keep-alive agents,
 * `allowAbsoluteUrls: false` (a path can never send our credentials elsewhere), no redirects,
 * every HTTP status returned to the caller; network failures and timeouts become UpstreamError.
 */
export class HttpClient {
  readonly baseUrl: string;
  readonly breaker: CircuitBreaker | null;
  /** The outcome of the last request that reached (or failed to reach) the server. */
  lastContact: { ok: boolean; at: number; error?: string } | null = null;
  /** axios is loaded with the first client (a gateway that forwards nothing never loads it). */
  private readonly http: Promise<AxiosInstance>;
  private readonly httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 8 });
  private readonly httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 8 });
  private readonly now: () => number;

  constructor(
    private readonly opts: HttpClientOptions,
    exactUrl = false,
  ) {
    // Credentials written into the URL become the Basic header, so they never show in messages, logs or /outbox.
    const { url, username, password } = splitCredentials(opts.baseUrl);
    this.baseUrl = exactUrl ? url : normaliseBaseUrl(url);
    this.now = opts.now ?? Date.now;
    this.breaker = opts.breaker ? new CircuitBreaker({ ...opts.breaker, now: this.now }) : null;
    const authorization = authorizationHeader(opts.apiKey || opts.username !== undefined ? opts : { username, password });
    const defaults: CreateAxiosDefaults = {
      baseURL: this.baseUrl,
      allowAbsoluteUrls: false,
      timeout: opts.timeoutMs,
      httpAgent: this.httpAgent,
      httpsAgent: this.httpsAgent,
      adapter: 'http',
      maxRedirects: 0,
      maxContentLength: 64 * 1024 * 1024,
      maxBodyLength: 64 * 1024 * 1024,
      validateStatus: () => true,
      transitional: { clarifyTimeoutError: true, silentJSONParsing: true, forcedJSONParsing: true },
      headers: {
        'User-Agent': USER_AGENT,
        Accept: 'application/json',
        ...(authorization ? { Authorization: authorization } : {}),
      },
    };
    this.http = import('axios').then(({ default: axios }) => axios.create(defaults));
    this.http.catch(() => undefined); // reported by the first request that awaits it
  }

  async request(
    method: Method,
    path: string,
    init: { data?: unknown; params?: Record<string, string | number>; headers?: Record<string, string>; signal?: AbortSignal } = {},
  ): Promise<HttpResult> {
    if (this.breaker && !this.breaker.tryAcquire()) {
      throw new UpstreamError(
        'breaker_open',
        `${redactUrl(this.baseUrl)} is failing; paused until ${new Date(this.breaker.retryAt ?? this.now()).toISOString()} (circuit breaker open)`,
        this.breaker.retryAt,
      );
    }
    const started = this.now();
    // Overall deadline: axios's timeout watches the socket, this one the whole exchange.
    const deadline = AbortSignal.timeout(this.opts.timeoutMs + 250);
    const signal = init.signal ? AbortSignal.any([deadline, init.signal]) : deadline;
    try {
      const res = await (await this.http).request({ method, url: path, data: init.data, params: init.params, headers: init.headers, signal });
      const ms = this.now() - started;
      const failing = isFailureStatus(res.status);
      if (failing) this.breaker?.failure();
      else this.breaker?.success();
      this.lastContact = { ok: !failing, at: this.now(), ...(failing ? { error: `HTTP ${res.status}` } : {}) };
      this.opts.onRequest?.({ method, path, status: res.status, ms });
      return { status: res.status, data: res.data, headers: flattenHeaders(res.headers as Record<string, unknown>) };
    } catch (err) {
      const failure = toUpstreamError(err, method, redactUrl(this.baseUrl) + path, this.opts.timeoutMs, deadline.aborted, init.signal?.aborted ?? false);
      if (failure.kind === 'aborted') this.breaker?.release();
      else {
        this.breaker?.failure();
        this.lastContact = { ok: false, at: this.now(), error: failure.message };
      }
      this.opts.onRequest?.({ method, path, status: null, ms: this.now() - started, error: failure.message });
      throw failure;
    }
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

function splitCredentials(raw: string): { url: string; username?: string; password?: string } {
  const url = new URL(raw);
  if (!url.username && !url.password) return { url: raw };
  const username = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  url.username = '';
  url.password = '';
  return { url: url.toString(), username, password };
}

function toUpstreamError(err: unknown, method: string, url: string, timeoutMs: number, deadlineHit: boolean, callerAborted: boolean): UpstreamError {
  const what = `${method.toUpperCase()} ${url}`;
  if (callerAborted) return new UpstreamError('aborted', `${what}: aborted (stopping)`);
  const code = isAxiosError(err) ? err.code : (err as NodeJS.ErrnoException)?.code;
  if (deadlineHit || code === 'ETIMEDOUT' || code === 'ECONNABORTED') return new UpstreamError('timeout', `${what}: no answer within ${timeoutMs} ms`);
  const cause = isAxiosError(err) && err.cause ? ((err.cause as NodeJS.ErrnoException).code ?? err.cause.message) : undefined;
  const reason = [code, cause && cause !== code ? cause : undefined].filter(Boolean).join(' ') || (err as Error)?.message || 'request failed';
  return new UpstreamError('network', `${what}: ${reason}`);
}

/** axios's own test (axios.isAxiosError), without loading axios for it. */
function isAxiosError(err: unknown): err is { code?: string; cause?: Error } {
  return typeof err === 'object' && err !== null && (err as { isAxiosError?: unknown }).isAxiosError === true;
}

function flattenHeaders(headers: Record<string, unknown>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(headers ?? {})) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v == null ? undefined : String(v);
  return out;
}

/** The catalog code for an HTTP answer the caller could not use. */
export function upstreamHttpError(status: number, method: string, path: string, data: unknown): AppError {
  const code: ErrorCode = 'upstream_error';
  return new AppError(code, `${method} ${path}: upstream answered ${status} ${excerpt(data, 200)}`.trim());
}
