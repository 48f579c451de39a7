import type { ShopTimeZone } from '../domain/time-zone.js';

/** HTML that is already safe to insert; everything else interpolated into `html` is escaped. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

type Interpolation = SafeHtml | string | number | boolean | null | undefined | Interpolation[];

function render(value: Interpolation): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

/** Tagged template: `html\`<td>${name}</td>\`` escapes `name` (text and attribute values alike). */
export function html(strings: TemplateStringsArray, ...values: Interpolation[]): SafeHtml {
  let out = strings[0];
  values.forEach((v, i) => {
    out += render(v) + strings[i + 1];
  });
  return new SafeHtml(out);
}

/** "45 s", "12 min", "3 h 5 min", "2 d 4 h". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 24) return min % 60 ? `${h} h ${min % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** Local time: "14:03:09" today, "2026-11-22 14:03" another day. */
export function formatTime(at: Date, now: Date): string {
  const sameDay = at.getFullYear() === now.getFullYear() && at.getMonth() === now.getMonth() && at.getDate() === now.getDate();
  const time = `${pad(at.getHours())}:${pad(at.getMinutes())}`;
  if (sameDay) return `${time}:${pad(at.getSeconds())}`;
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())} ${time}`;
}

/** `<time>` with the exact instant as a tooltip, the local time (in `zone` with its offset, else the process's) and how long ago. */
export function when(at: Date | string | null | undefined, now: Date, zone?: ShopTimeZone): SafeHtml {
  if (!at) return html`<span class="muted">never</span>`;
  const d = typeof at === 'string' ? new Date(at) : at;
  if (Number.isNaN(d.getTime())) return html`${String(at)}`;
  const ago = now.getTime() - d.getTime();
  const relative = ago >= 0 ? `${formatDuration(ago)} ago` : `in ${formatDuration(-ago)}`;
  return html`<time datetime="${d.toISOString()}" title="${d.toISOString()}">${zone ? zone.clock(d, now) : formatTime(d, now)}</time> <span class="muted">(${relative})</span>`;
}
