import { html, SafeHtml } from '../ops/html.js';
import { ADMIN_CSS, ADMIN_JS, assetVersion } from './assets.js';

export type Section = 'dashboard' | 'sales' | 'products' | 'stock' | 'days' | 'quarantine' | 'devices' | 'forwarding';

const NAV: [Section, string, string][] = [
  ['dashboard', 'Dashboard', ''],
  ['sales', 'Sales', 'sales'],
  ['products', 'Products', 'products'],
  ['stock', 'Stock', 'stock'],
  ['days', 'Days', 'days'],
  ['quarantine', 'Quarantine', 'quarantine'],
  ['devices', 'Devices', 'devices'],
  ['forwarding', 'Forwarding', 'forwarding'],
];

const CSS_VERSION = assetVersion(ADMIN_CSS);
const JS_VERSION = assetVersion(ADMIN_JS);

export interface Notice {
  kind: 'ok' | 'warn' | 'fail';
  text: string;
}

export interface PageView {
  title: string;
  /** Relative path from the current page to the back office root ("./", "../"): works under any proxy prefix. */
  root: string;
  section?: Section;
  /** Signed in: the nav, the sign-out form (which carries this token). */
  user?: { username: string; csrfToken: string };
  /** A shop of a deployment of several: named in the header of every page. */
  shop?: string;
  /** Bridge or webhook mode: the Forwarding link. */
  forwarding?: boolean;
  notice?: Notice | null;
  /** The page listens to the event stream and refreshes its [data-live] regions. */
  live?: boolean;
  /** Where the live regions are fetched from when it is not this URL (a page answering a posted form). */
  liveUrl?: string;
  /** A print view: a narrow receipt or an A4 sheet. */
  print?: '80mm' | 'a4';
  content: SafeHtml;
}

export function renderPage(v: PageView): string {
  const nav = v.user
    ? NAV.filter(([s]) => s !== 'forwarding' || v.forwarding).map(
        ([section, label, path]) => html`<li><a href="${v.root}${path}"${section === v.section ? html` aria-current="page"` : ''}>${label}</a></li>`,
      )
    : [];
  const bodyAttrs = html`${v.live ? html` data-events="${v.root}events"` : ''}${v.live && v.liveUrl ? html` data-live-url="${v.liveUrl}"` : ''}${v.print ? html` class="print-${v.print === '80mm' ? '80' : 'a4'}"` : ''}`;
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<link rel="icon" href="data:,">
<title>${v.title} · Back office</title>
<link rel="stylesheet" href="${v.root}assets/admin.css?v=${CSS_VERSION}">
<script src="${v.root}assets/admin.js?v=${JS_VERSION}" defer></script>
</head><body${bodyAttrs}>
<a class="skip" href="#main">Skip to content</a>
<header class="top"><span class="brand">tabshop-gateway back office</span>${v.shop ? html`<span class="shop">Shop <strong data-field="shop">${v.shop}</strong></span>` : ''}${
    v.user
      ? html`
<span class="muted">Signed in as <strong data-field="user">${v.user.username}</strong></span>
<form method="post" action="${v.root}sign-out">${csrfField(v.user.csrfToken)}<button type="submit">Sign out</button></form>`
      : ''
  }</header>
${v.user ? html`<nav class="main" aria-label="Main"><ul>${nav}</ul></nav>` : ''}
<main id="main">
${v.notice ? html`<p class="notice ${v.notice.kind}" id="notice" role="${v.notice.kind === 'ok' ? 'status' : 'alert'}">${v.notice.text}</p>` : ''}
${v.content}
</main>
</body></html>
`.value;
}

export const csrfField = (token: string) => html`<input type="hidden" name="_csrf" value="${token}">`;

export interface FieldOptions {
  label: string;
  name: string;
  value?: string;
  error?: string;
  type?: string;
  hint?: string;
  required?: boolean;
  /** A select: value → text. */
  options?: [string, string][];
  textarea?: boolean;
  autocomplete?: string;
  inputmode?: string;
}

/** A labelled field; an error is shown next to it, tied to it for screen readers, and the value typed is kept. */
export function field(o: FieldOptions): SafeHtml {
  const id = `f-${o.name}`;
  const described = [o.error ? `${id}-error` : '', o.hint ? `${id}-hint` : ''].filter(Boolean).join(' ');
  const common = html`id="${id}" name="${o.name}"${o.error ? html` aria-invalid="true"` : ''}${described ? html` aria-describedby="${described}"` : ''}${o.required ? html` required` : ''}`;
  const control = o.options
    ? html`<select ${common}>${o.options.map(([value, text]) => html`<option value="${value}"${value === (o.value ?? '') ? html` selected` : ''}>${text}</option>`)}</select>`
    : o.textarea
      ? html`<textarea ${common}>${o.value ?? ''}</textarea>`
      : html`<input ${common} type="${o.type ?? 'text'}" value="${o.value ?? ''}"${o.autocomplete ? html` autocomplete="${o.autocomplete}"` : ''}${o.inputmode ? html` inputmode="${o.inputmode}"` : ''}>`;
  return html`<div class="field" data-field="${o.name}"><label for="${id}">${o.label}</label>${control}${o.hint ? html`<p class="hint" id="${id}-hint">${o.hint}</p>` : ''}${o.error ? html`<p class="field-error" id="${id}-error">${o.error}</p>` : ''}</div>`;
}

export type FieldErrors = Record<string, string>;

export interface Column {
  label: string;
  num?: boolean;
}

/** A scrollable table; cells are pre-rendered. */
export function table(
  id: string,
  columns: Column[],
  rows: { attrs?: SafeHtml; cells: (SafeHtml | string | number | null | undefined)[] }[],
  empty: string,
): SafeHtml {
  const head = columns.map((c) => html`<th scope="col"${c.num ? html` class="num"` : ''}>${c.label}</th>`);
  const body = rows.length
    ? rows.map((r) => html`<tr ${r.attrs ?? ''}>${r.cells.map((c, i) => html`<td${columns[i]?.num ? html` class="num"` : ''}>${c}</td>`)}</tr>`)
    : html`<tr><td colspan="${columns.length}" class="muted">${empty}</td></tr>`;
  return html`<div class="scroll"><table id="${id}"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>`;
}

export const badge = (kind: 'ok' | 'warn' | 'fail' | 'grey', text: string) => html`<span class="badge ${kind}">${text}</span>`;

export { html, SafeHtml };
