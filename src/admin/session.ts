import type { Notice } from './page.js';
import { randomBytes, timingSafeEqual } from 'node:crypto';

export interface AdminSession {
  id: string;
  username: string;
  /** Sent in every form of this session; a forged cross-site form cannot know it. */
  csrfToken: string;
  lastUsed: number;
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

  constructor(private readonly idleMs: number, private readonly now: () => number = Date.now) {}

  create(username: string): AdminSession {
    this.sweep();
    const session = { id: token(), username, csrfToken: token(), lastUsed: this.now() };
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
