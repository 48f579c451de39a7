/** Helpers for fixed-width printouts (receipt printers: 40 columns). Widths count code points. */
export const WIDTH = 40;

const chars = (s: string) => [...s];

export function fit(text: string, width: number): string {
  const c = chars(text);
  return c.length <= width ? text : c.slice(0, width).join('');
}

/** `left` and `right` on one line, right-aligned; a long left side is cut, never the figure. */
export function columns(left: string, right: string, width = WIDTH): string {
  const room = Math.max(0, width - chars(right).length - 1);
  const l = fit(left, room);
  return l + ' '.repeat(Math.max(1, width - chars(l).length - chars(right).length)) + right;
}

export function center(text: string, width = WIDTH): string {
  const t = fit(text, width);
  const pad = Math.floor((width - chars(t).length) / 2);
  return ' '.repeat(pad) + t;
}

export const rule = (ch = '-', width = WIDTH) => ch.repeat(width);

/** Word-wraps to `width`; a word longer than a line is split. */
export function wrap(text: string, width = WIDTH): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    let w = word;
    while (chars(w).length > width) {
      if (line) {
        out.push(line);
        line = '';
      }
      out.push(chars(w).slice(0, width).join(''));
      w = chars(w).slice(width).join('');
    }
    if (!line) line = w;
    else if (chars(line).length + 1 + chars(w).length <= width) line += ` ${w}`;
    else {
      out.push(line);
      line = w;
    }
  }
  if (line) out.push(line);
  return out;
}

/** `2026-11-23T08:05:09.123Z` → `2026-11-23 08:05 UTC`. */
export function shortTime(iso: string | null): string {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : '-';
}

/** Trailing spaces trimmed, lines joined with \n, final newline. */
export const lines = (rows: string[]) => `${rows.map((r) => r.replace(/\s+$/, '')).join('\n')}\n`;
