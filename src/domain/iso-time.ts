const TWO = Array.from({ length: 100 }, (_, n) => (n < 10 ? `0${n}` : `${n}`));
const THREE = Array.from({ length: 1000 }, (_, n) => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`));
const pad4 = (n: number) => (n < 10 ? `000${n}` : n < 100 ? `00${n}` : n < 1000 ? `0${n}` : `${n}`);
/** "YYYY-MM-DDT" by day number since 1970-01-01: a few hundred days are ever asked for. */
const DAYS = new Map<number, string>();

function datePart(days: number): string {
  let s = DAYS.get(days);
  if (s === undefined) {
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    const z = days + 719_468;
    const era = Math.floor(z / 146_097);
    const doe = z - era * 146_097;
    const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
    const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
    const mp = Math.floor((5 * doy + 2) / 153);
    const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
    const m = mp < 10 ? mp + 3 : mp - 9;
    const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
    s = `${pad4(y)}-${TWO[m]}-${TWO[d]}T`;
    if (DAYS.size >= 4096) DAYS.clear();
    DAYS.set(days, s);
  }
  return s;
}

/**
 * new Date(ms).toISOString() for the times of years 0000–9999 (what canonical ISO times are),
 * several times faster: listings format one or two times per sale.
 */
export function isoOfMs(ms: number): string {
  const days = Math.floor(ms / 86_400_000);
  let rest = ms - days * 86_400_000;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const min = Math.floor(rest / 60_000);
  rest -= min * 60_000;
  const s = Math.floor(rest / 1000);
  return `${datePart(days)}${TWO[h]}:${TWO[min]}:${TWO[s]}.${THREE[rest - s * 1000]}Z`;
}
