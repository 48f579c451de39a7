import { invoiceJsonFromForm, isFormEncoded } from '../tabshop/legacy.js';

/** The customer fields that --redact blanks. */
export const REDACTED_CUSTOMER_FIELDS: readonly string[] = ['name', 'address', 'email'];

export type RedactOutcome = { ok: true; text: string; blanked: number } | { ok: false; reason: string };

/**
 * Blanks `invoices[*].customer.{name,address,email}` in a push body and leaves every other byte
 * as it was (amounts keep their exact spelling, so a redacted capture replays the same money).
 * A form-encoded legacy body is redacted inside its invoice field.
 */
export function redactPushBody(text: string, contentType?: string): RedactOutcome {
  const json = redactJsonText(text);
  if (json) return { ok: true, ...json };
  if (isFormEncoded(contentType) || text.includes('=')) {
    const inner = invoiceJsonFromForm(text);
    if (inner !== null) {
      const redacted = redactJsonText(inner)!;
      const form = new URLSearchParams(text);
      for (const [key, value] of [...form]) {
        if (value.trim() === inner) form.set(key, redacted.text);
      }
      return { ok: true, text: form.toString(), blanked: redacted.blanked };
    }
  }
  return { ok: false, reason: 'the body is not JSON, so its customer fields cannot be found' };
}

/** null when the text is not JSON. */
export function redactJsonText(text: string): { text: string; blanked: number } | null {
  try {
    JSON.parse(text);
  } catch {
    return null;
  }
  const cuts: [number, number][] = [];
  const scanner = new Scanner(text, (path, start, end) => {
    if (isCustomerField(path) && text.slice(start, end) !== '""') cuts.push([start, end]);
  });
  scanner.value([]);
  let out = '';
  let at = 0;
  for (const [start, end] of cuts) {
    out += `${text.slice(at, start)}""`;
    at = end;
  }
  return { text: out + text.slice(at), blanked: cuts.length };
}

function isCustomerField(path: (string | number)[]): boolean {
  return (
    path.length === 4 && path[0] === 'invoices' && typeof path[1] === 'number' && path[2] === 'customer' && REDACTED_CUSTOMER_FIELDS.includes(path[3] as string)
  );
}

/** Walks already-validated JSON text, reporting the span of every value with its path. */
class Scanner {
  private i = 0;

  constructor(
    private readonly text: string,
    private readonly onValue: (path: (string | number)[], start: number, end: number) => void,
  ) {}

  value(path: (string | number)[]): void {
    this.ws();
    const start = this.i;
    const c = this.text[this.i];
    if (c === '{') this.object(path);
    else if (c === '[') this.array(path);
    else if (c === '"') this.string();
    else this.literal();
    this.onValue(path, start, this.i);
  }

  private object(path: (string | number)[]): void {
    this.i++;
    this.ws();
    if (this.text[this.i] === '}') {
      this.i++;
      return;
    }
    for (;;) {
      this.ws();
      const keyStart = this.i;
      this.string();
      const key = JSON.parse(this.text.slice(keyStart, this.i)) as string;
      this.ws();
      this.i++; // ':'
      this.value([...path, key]);
      this.ws();
      if (this.text[this.i++] === '}') return;
    }
  }

  private array(path: (string | number)[]): void {
    this.i++;
    this.ws();
    if (this.text[this.i] === ']') {
      this.i++;
      return;
    }
    for (let index = 0; ; index++) {
      this.value([...path, index]);
      this.ws();
      if (this.text[this.i++] === ']') return;
    }
  }

  private string(): void {
    this.i++;
    while (this.text[this.i] !== '"') this.i += this.text[this.i] === '\\' ? 2 : 1;
    this.i++;
  }

  private literal(): void {
    while (this.i < this.text.length && !',]} \t\r\n'.includes(this.text[this.i])) this.i++;
  }

  private ws(): void {
    while (' \t\r\n'.includes(this.text[this.i]) && this.i < this.text.length) this.i++;
  }
}
