/**
 * How a push body's bytes become text: UTF-8 (a BOM is allowed and dropped), else Windows-1252.
 * Old Android HTTP stacks send ISO-8859-1 (`Käsekuchen` as 0xE4); refusing those bodies would
 * block the tablet for ever, since it re-sends the same batch. Windows-1252 is a superset of
 * ISO-8859-1's printable characters and decodes every byte, so the fallback never fails.
 */
export type BodyEncoding = 'utf-8' | 'windows-1252';

export interface DecodedBody {
  /** The text to parse (without a BOM). */
  text: string;
  encoding: BodyEncoding;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function decodeBody(raw: Uint8Array): DecodedBody {
  try {
    return { text: utf8.decode(raw), encoding: 'utf-8' };
  } catch {
    return { text: decodeWindows1252(raw), encoding: 'windows-1252' };
  }
}

// 0x80–0x9F, where Windows-1252 differs from ISO-8859-1 (WHATWG index; 81, 8D, 8F, 90, 9D stay C1).
// Not TextDecoder('windows-1252'): Node 20.20 decodes those bytes as ISO-8859-1 (0x80 → U+0080, not €).
const C1 = [
  0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d, 0x17d, 0x8f, 0x90, 0x2018, 0x2019, 0x201c, 0x201d,
  0x2022, 0x2013, 0x2014, 0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178,
];

export function decodeWindows1252(raw: Uint8Array): string {
  const codes = new Uint16Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i];
    codes[i] = b >= 0x80 && b <= 0x9f ? C1[b - 0x80] : b;
  }
  let text = '';
  for (let i = 0; i < codes.length; i += 8192) text += String.fromCharCode(...codes.subarray(i, i + 8192));
  return text;
}
