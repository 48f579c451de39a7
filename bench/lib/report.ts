import { readFileSync } from 'node:fs';
import { cpus, totalmem, release } from 'node:os';
import { execFileSync } from 'node:child_process';

/** Ratio targets compare ours ÷ baseline; `at-least` and `below` judge ours alone; `none` is for information. */
export type TargetKind = 'min-ratio' | 'max-ratio' | 'at-least' | 'below' | 'none';

export interface Row {
  scenario: string;
  unit: string;
  ours: number | null;
  baseline: number | null;
  target: { kind: TargetKind; value: number };
  /** Why the row could not be measured (then ours is null and the row is neither pass nor fail). */
  unavailable?: string;
  details?: Record<string, unknown>;
}

export interface Evaluated extends Row {
  ratio: number | null;
  verdict: 'pass' | 'FAIL' | 'n/a' | 'info';
}

export function evaluate(row: Row): Evaluated {
  if (row.ours === null || row.unavailable) return { ...row, ratio: null, verdict: 'n/a' };
  if (row.target.kind === 'none') return { ...row, ratio: row.baseline ? row.ours / row.baseline : null, verdict: 'info' };
  if (row.target.kind === 'below') return { ...row, ratio: null, verdict: row.ours < row.target.value ? 'pass' : 'FAIL' };
  if (row.target.kind === 'at-least') return { ...row, ratio: null, verdict: row.ours >= row.target.value ? 'pass' : 'FAIL' };
  if (row.baseline === null || row.baseline === 0) return { ...row, ratio: null, verdict: 'n/a' };
  const ratio = row.ours / row.baseline;
  const ok = row.target.kind === 'min-ratio' ? ratio >= row.target.value : ratio <= row.target.value;
  return { ...row, ratio, verdict: ok ? 'pass' : 'FAIL' };
}

function targetText(t: Row['target'], unit: string): string {
  switch (t.kind) {
    case 'min-ratio':
      return `≥ ${t.value}×`;
    case 'max-ratio':
      return `≤ ${t.value}×`;
    case 'below':
      return `< ${fmt(t.value)} ${unit}`;
    case 'at-least':
      return `≥ ${fmt(t.value)} ${unit}`;
    case 'none':
      return '—';
  }
}

function fmt(n: number): string {
  if (Number.isInteger(n) || Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-US');
  return n.toFixed(Math.abs(n) >= 10 ? 1 : 2);
}

/** A plain-text table: scenario, ours, baseline, ratio, target, verdict. */
export function formatTable(rows: Evaluated[]): string {
  const cells = rows.map((r) => [
    r.scenario,
    r.unavailable ? r.unavailable : r.ours === null ? '—' : `${fmt(r.ours)} ${r.unit}`,
    r.baseline === null ? '—' : `${fmt(r.baseline)} ${r.unit}`,
    r.ratio === null ? '—' : `${r.ratio.toFixed(2)}×`,
    targetText(r.target, r.unit),
    r.verdict,
  ]);
  const header = ['scenario', 'ours', 'baseline', 'ratio', 'target', 'result'];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((x, i) => x.padEnd(widths[i])).join(' | ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...cells.map(line)].join('\n');
}

/** The same table as Markdown, for docs/performance.md. */
export function markdownTable(rows: Evaluated[]): string {
  const out = ['| scenario | ours | baseline | ratio | target | result |', '|---|---|---|---|---|---|'];
  for (const r of rows) {
    out.push(
      `| ${r.scenario} | ${r.unavailable ?? (r.ours === null ? '—' : `${fmt(r.ours)} ${r.unit}`)} | ${r.baseline === null ? '—' : `${fmt(r.baseline)} ${r.unit}`} | ${r.ratio === null ? '—' : `${r.ratio.toFixed(2)}×`} | ${targetText(r.target, r.unit)} | ${r.verdict} |`,
    );
  }
  return out.join('\n');
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGb: number;
  node: string;
  kernel: string;
  filesystem: string;
}

export function machineInfo(dir: string): Machine {
  const model = /^model name\s*:\s*(.+)$/m.exec(safeRead('/proc/cpuinfo'))?.[1] ?? cpus()[0]?.model ?? 'unknown';
  let filesystem = 'unknown';
  try {
    const out = execFileSync('df', ['-T', dir], { encoding: 'utf8' }).trim().split('\n')[1]?.split(/\s+/);
    if (out) filesystem = `${out[1]} on ${out[0]}`;
  } catch {
    /* df missing: leave unknown */
  }
  return { cpu: model.trim(), cores: cpus().length, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version, kernel: release(), filesystem };
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
