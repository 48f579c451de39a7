import { createHash } from 'node:crypto';

/** Served as assets/admin.css: the strict CSP allows styles from 'self' only, never inline. */
export const ADMIN_CSS = `
:root{color-scheme:light dark;--bg:#fff;--fg:#1d1f21;--muted:#5f6368;--line:#d8dbdf;--ok:#1a7f37;--warn:#9a6700;--fail:#cf222e;--head:#f3f4f6;--accent:#0b57d0;--low:#fff4ce}
@media (prefers-color-scheme:dark){:root{--bg:#15171a;--fg:#e6e6e6;--muted:#a0a6ad;--line:#33373c;--head:#1f2226;--accent:#8ab4f8;--low:#4a3b00}}
*{box-sizing:border-box}
body{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--fg)}
a{color:var(--accent)}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,textarea:focus-visible,summary:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:var(--bg);padding:6px;z-index:2}
header.top{display:flex;flex-wrap:wrap;align-items:center;gap:6px 14px;padding:8px 12px;border-bottom:1px solid var(--line);background:var(--head)}
header.top .brand{font-weight:700;margin-right:auto}
header.top form{display:inline}
nav.main ul{list-style:none;display:flex;flex-wrap:wrap;gap:4px;margin:0;padding:6px 8px;border-bottom:1px solid var(--line)}
nav.main a{display:inline-block;padding:8px 10px;border-radius:6px;text-decoration:none;color:inherit}
nav.main a[aria-current=page]{background:var(--accent);color:var(--bg);font-weight:600}
nav.sub{margin:0 0 10px}nav.sub a{margin-right:12px}
main{padding:12px;max-width:1100px;margin:0 auto}
h1{font-size:1.35em;margin:.2em 0 .5em}h2{font-size:1.1em;margin:1.3em 0 .4em;border-bottom:1px solid var(--line);padding-bottom:.2em}
.muted{color:var(--muted)}.meta{color:var(--muted);font-size:.9em}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;max-width:100%}
table{border-collapse:collapse;width:100%;font-size:.95em}
th,td{padding:6px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:var(--head);font-weight:600;white-space:nowrap}
.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
tr.low td{background:var(--low)}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:.85em;font-weight:600;color:#fff;white-space:nowrap}
.ok{background:var(--ok)}.warn{background:var(--warn)}.fail{background:var(--fail)}.grey{background:var(--muted)}
.notice{padding:10px 12px;border-radius:6px;margin:8px 0;border:1px solid var(--line)}
.notice.ok{background:rgba(26,127,55,.12)}.notice.warn{background:rgba(154,103,0,.14)}.notice.fail{background:rgba(207,34,46,.12)}
form.stack{display:grid;gap:12px;max-width:34em}
.field label{display:block;font-weight:600;margin-bottom:3px}
.field .hint{font-size:.88em;color:var(--muted);margin:2px 0 0}
.field-error{color:var(--fail);font-weight:600;margin:3px 0 0;font-size:.92em}
input,select,textarea{font:inherit;color:inherit;background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:8px 10px;min-height:42px;width:100%;max-width:100%}
input[aria-invalid=true],select[aria-invalid=true],textarea[aria-invalid=true]{border-color:var(--fail);border-width:2px}
textarea{min-height:6em}
.field[data-field=invoice] textarea{min-height:22em;font:13px/1.35 ui-monospace,monospace}
button,.button{font:inherit;padding:8px 14px;min-height:42px;border-radius:6px;border:1px solid var(--line);background:var(--head);color:inherit;cursor:pointer;text-decoration:none;display:inline-block}
button.primary,.button.primary{background:var(--accent);color:var(--bg);border-color:var(--accent);font-weight:600}
button.danger{background:var(--fail);color:#fff;border-color:var(--fail)}
.actions{display:flex;flex-wrap:wrap;gap:8px;align-items:center}
form.filters{display:flex;flex-wrap:wrap;gap:8px 12px;align-items:flex-end;margin:0 0 12px}
form.filters .field{flex:1 1 10em;min-width:9em}
form.inline{display:inline-flex;flex-wrap:wrap;gap:6px;align-items:flex-end}
form.inline input{width:auto;min-width:6em}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:var(--head);padding:8px;border-radius:6px;font-size:.88em}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(15em,1fr));gap:10px}
.card{border:1px solid var(--line);border-radius:8px;padding:10px 12px}
.card .big{font-size:1.5em;font-weight:700}
.secret{font-family:monospace;font-size:1.2em;padding:6px 10px;background:var(--head);border-radius:6px;user-select:all}
@media (max-width:640px){main{padding:8px}th,td{padding:5px 6px}}
.print-only{display:none}
body.print-80 main{max-width:80mm;padding:2mm;font:12px/1.3 ui-monospace,monospace}
body.print-80 table{font-size:11px}body.print-80 th,body.print-80 td{padding:1px 2px}
body.print-a4 main{max-width:190mm}
@media print{header.top,nav.main,.no-print{display:none!important}.print-only{display:block}body{background:#fff;color:#000}main{padding:0}
body.print-80{width:80mm}@page{margin:8mm}}
`;

/**
 * Served as assets/admin.js: progressive enhancement only (every page works without it).
 * Live pages name an event stream in data-events; on a change the page is fetched again and its
 * [data-live] regions are swapped in, so figures update without a reload.
 */
export const ADMIN_JS = `
(function () {
  'use strict';
  var body = document.body;
  var src = body.getAttribute('data-events');
  if (src && window.EventSource) {
    var timer = null;
    var refresh = function () {
      timer = null;
      fetch(window.location.href, { credentials: 'same-origin', headers: { 'X-Admin-Live': '1' } })
        .then(function (res) { return res.ok && !res.redirected ? res.text() : null; })
        .then(function (text) {
          if (text === null) return;
          var doc = new DOMParser().parseFromString(text, 'text/html');
          var regions = document.querySelectorAll('[data-live]');
          for (var i = 0; i < regions.length; i++) {
            var fresh = doc.getElementById(regions[i].id);
            if (fresh) regions[i].replaceWith(fresh);
          }
          body.setAttribute('data-updated', String(Date.now()));
        })
        .catch(function () { /* the next change tries again */ });
    };
    var events = new EventSource(src);
    events.addEventListener('change', function () { if (!timer) timer = setTimeout(refresh, 100); });
    events.addEventListener('open', function () { body.setAttribute('data-live-connected', 'true'); });
  }
  var printers = document.querySelectorAll('[data-print]');
  for (var j = 0; j < printers.length; j++) {
    printers[j].hidden = false;
    printers[j].addEventListener('click', function () { window.print(); });
  }
})();
`;

export const assetVersion = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 12);
