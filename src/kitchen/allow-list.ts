import { BlockList, isIP } from 'node:net';

/** "::ffff:192.168.1.5" (an IPv4 client on a dual-stack socket) is 192.168.1.5. */
export function plainAddress(address: string | undefined): string {
  if (!address) return '';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1] : address;
}

function parseEntry(entry: string): { address: string; prefix: number | null; family: 'ipv4' | 'ipv6' } | string {
  const [address, prefixText, ...rest] = entry.trim().split('/');
  const version = isIP(address);
  if (rest.length > 0 || version === 0) return 'must be an IP address or a CIDR subnet such as "192.168.1.0/24"';
  const family = version === 4 ? 'ipv4' : 'ipv6';
  if (prefixText === undefined) return { address, prefix: null, family };
  const max = version === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) return `the prefix length must be 0-${max}`;
  return { address, prefix: Number(prefixText), family };
}

/** Why a `kitchen.allow` entry is unusable, or null. */
export function allowListProblem(entry: string): string | null {
  const parsed = parseEntry(entry);
  return typeof parsed === 'string' ? parsed : null;
}

/** The `kitchen.allow` list; no list admits every address. */
export class AllowList {
  private readonly list: BlockList | null;

  constructor(entries: string[] | undefined) {
    if (!entries) {
      this.list = null;
      return;
    }
    this.list = new BlockList();
    for (const entry of entries) {
      const parsed = parseEntry(entry);
      if (typeof parsed === 'string') throw new Error(`kitchen.allow "${entry}": ${parsed}`);
      if (parsed.prefix === null) this.list.addAddress(parsed.address, parsed.family);
      else this.list.addSubnet(parsed.address, parsed.prefix, parsed.family);
    }
  }

  admits(address: string): boolean {
    if (!this.list) return true;
    const plain = plainAddress(address);
    const version = isIP(plain);
    if (version === 0) return false;
    return this.list.check(plain, version === 4 ? 'ipv4' : 'ipv6');
  }
}
