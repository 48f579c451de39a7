import type { Notice } from './page.js';
import { randomBytes, timingSafeEqual } from 'node:crypto';

export interface AdminSession {
  id: string;
  username: string;
  /** Sent in every form of this session; a forged cross-site form cannot know it. */
  csrfToken: string;
  lastUsed: number;
  /** An operator of a deployment of shops (src/shops), not an account of the shop. */
  operator?: true;
  /** A message for the next page shown (after a redirect). */
  flash?: Notice;
}

export const SESSION_COOKIE = 'tsg_admin';

/**
 * Signed-in admins, in memory: a restart signs everyone out, which for a shop's back office is
 * a fair price for keeping no session secrets on disk. A session ends after `idleMs` unused.
 */
export class AdminSessions {
  private readonly sessions = new Map<string, AdminSession>();

  constructor(
    private readonly idleMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  create(username: string, operator = false): AdminSession {
    this.sweep();
    const session: AdminSession = { id: token(), username, csrfToken: token(), lastUsed: this.now(), ...(operator && { operator: true as const }) };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session under this id (its idle clock restarts), or null. */
  use(id: string | undefined): AdminSession | null {
    if (!id) return null;
    const s = this.sessions.get(id);
    if (!s) return null;
    const t = this.now();
    if (t - s.lastUsed > this.idleMs) {
      this.sessions.delete(id);
      return null;
    }
    s.lastUsed = t;
    return s;
  }

  end(id: string | undefined): void {
    if (id) this.sessions.delete(id);
  }

  get size(): number {
    return this.sessions.size;
  }

  private sweep(): void {
    const t = this.now();
    for (const [id, s] of this.sessions) if (t - s.lastUsed > this.idleMs) this.sessions.delete(id);
  }
}

/** A form posted after its session ended: where it went and what was typed (its token left out). */
export interface KeptForm {
  action: string;
  fields: [string, string][];
}

/**
 * Forms that arrived after their session had ended, kept until their author signs in again (then
 * posted back, unsaved, so the page shows what was typed). Few and short-lived: this is before
 * anyone is authenticated, so the oldest go first.
 */
export class KeptForms {
  private readonly forms = new Map<string, KeptForm & { at: number; owner: string }>();

  constructor(
    private readonly ttlMs: number,
    private readonly max: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** `owner`: the (ended) session cookie it came with; only a sign-in from that browser gets it back. */
  keep(form: KeptForm, owner: string): string {
    const t = this.now();
    for (const [id, f] of this.forms) if (t - f.at > this.ttlMs || this.forms.size >= this.max) this.forms.delete(id);
    const id = token();
    this.forms.set(id, { ...form, at: t, owner });
    return id;
  }

  take(id: string, owner: string | undefined): KeptForm | null {
    const f = this.forms.get(id);
    if (!f || f.owner !== owner) return null;
    this.forms.delete(id);
    return this.now() - f.at <= this.ttlMs ? f : null;
  }
}

const token = () => randomBytes(24).toString('base64url');

export function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The value of one cookie from a Cookie header (no dependency needed for one name). */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}
