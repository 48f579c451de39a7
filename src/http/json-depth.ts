/**
 * How deep any JSON input may be nested. A push holds 5 levels (body, invoices, invoice,
 * positions, position), an API body a few more. Much deeper values cannot be stored as values
 * (JSON.stringify, structuredClone and the quarantine key recurse and overflow the stack): they
 * are refused whole, before anything is stored.
 */
export const MAX_JSON_DEPTH = 64;

export function nestedDeeperThan(value: object, max = MAX_JSON_DEPTH): boolean {
  const stack: [object, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (depth > max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}
