/**
 * The README's command blocks, as the doc test reads them (test/docs/readme.test.ts).
 *
 * Convention (also in the README's Development section):
 * - Every ```sh block is run, in README order, in one bash session (variables carry over, as in
 *   one terminal), unless the line before its fence is `<!-- doctest: skip (why) -->`.
 * - A command is one line (a line ending in `\` continues on the next). Comment lines and
 *   comments after a command are not run.
 * - `# → text` documents the command's standard output, after the command on its line or alone
 *   on the next line; further output lines follow as `#   text` comment lines (`#` and 3 spaces).
 *   The output must equal the text (line breaks as LF, trailing ones ignored), except that `...`
 *   (or `…`) stands for any run of characters, line breaks included.
 * - Every command must exit 0; curl runs with `--silent --show-error --fail-with-body`, so an
 *   HTTP error status fails the command.
 * - Only `curl`, `printf`, `echo` and `cat` (and variable assignments) are run: a block with
 *   anything else (npm, the CLI, a server) must be marked skip, so the test never installs,
 *   starts or fetches anything but the demo gateway on 127.0.0.1.
 */
export interface DocCommand {
  /** 1-based README line of the command. */
  line: number;
  command: string;
  /** The documented output, lines joined with \n; undefined when none is documented. */
  expected?: string;
}

export interface DocBlock {
  line: number;
  skip?: string;
  commands: DocCommand[];
}

const ARROW = /^(?:.*?\s)?#\s*→\s?(.*)$/;

export function readmeBlocks(markdown: string): DocBlock[] {
  const lines = markdown.split('\n');
  const blocks: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = /^(\s*)```(\S*)\s*$/.exec(lines[i]);
    if (!fence) continue;
    const end = lines.findIndex((l, j) => j > i && /^\s*```\s*$/.test(l));
    if (end < 0) throw new Error(`README.md:${i + 1}: a code block that never ends`);
    if (fence[2] === 'sh') {
      const skip = /^<!--\s*doctest:\s*skip\s*\((.+)\)\s*-->\s*$/.exec(lines[i - 1] ?? '')?.[1];
      blocks.push({ line: i + 1, ...(skip !== undefined && { skip }), commands: commandsOf(lines.slice(i + 1, end), i + 2) });
    }
    i = end;
  }
  return blocks;
}

function commandsOf(body: string[], firstLine: number): DocCommand[] {
  const commands: DocCommand[] = [];
  let last: DocCommand | undefined;
  let inOutput = false;
  for (let k = 0; k < body.length; k++) {
    const raw = body[k];
    const trimmed = raw.trim();
    if (trimmed.startsWith('#')) {
      const arrow = ARROW.exec(trimmed);
      if (arrow && last && last.expected === undefined) {
        last.expected = arrow[1].trimEnd();
        inOutput = true;
      } else if (inOutput && last && /^# {3}/.test(trimmed)) {
        last.expected += `\n${trimmed.slice(4).trimEnd()}`;
      } else {
        inOutput = false;
      }
      continue;
    }
    inOutput = false;
    if (trimmed === '') continue;
    let command = raw;
    const line = firstLine + k;
    while (command.endsWith('\\') && k + 1 < body.length) command = `${command.slice(0, -1)}\n${body[++k]}`;
    last = { line, ...splitComment(command) };
    if (last.expected !== undefined) inOutput = true;
    commands.push(last);
  }
  return commands;
}

/** `cmd   # → out` → the command and its documented output; quotes are respected when looking for `#`. */
function splitComment(text: string): { command: string; expected?: string } {
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"') {
      quote = c;
    } else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]))) {
      const arrow = ARROW.exec(text.slice(i));
      return { command: text.slice(0, i).trimEnd(), ...(arrow && { expected: arrow[1].trimEnd() }) };
    }
  }
  return { command: text.trimEnd() };
}

/** Whether `output` is what `expected` documents (see the convention above). */
export function matchesDocumented(output: string, expected: string): boolean {
  const normalised = output.replace(/\r\n/g, '\n').replace(/\n+$/, '');
  const pattern = expected
    .split(/\.\.\.|…/)
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[\\s\\S]*');
  return new RegExp(`^${pattern}$`).test(normalised);
}

export const RUNNABLE = new Set(['curl', 'printf', 'echo', 'cat']);

/** The programs a command line runs (first word of each `;`, `&&`, `||`, `|` part), quotes respected. */
export function programsOf(command: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quote: string | null = null;
  for (let i = 0; i < command.length; i++) {
    const c = command[i];
    if (quote) {
      if (c === quote) quote = null;
      current += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      current += c;
    } else if (c === ';' || c === '|' || c === '&' || c === '\n') {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts
    .map((p) => p.trim())
    .filter((p) => p !== '')
    .flatMap((p) => {
      const words = p.split(/\s+/).filter((w) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w));
      return words.length ? [words[0]] : [];
    });
}
