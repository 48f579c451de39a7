import { isIPv4, isIPv6 } from 'node:net';

/** 127.0.0.0/8, ::1 (also as ::ffff:127.x) and "localhost"; anything else may be reachable from the network. */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIPv4(h)) return h.startsWith('127.');
  if (isIPv6(h)) return h === '::1' || /^(0{0,4}:){7}0{0,3}1$/.test(h) || /^::ffff:127\./.test(h);
  return false;
}

/**
 * The demo passwords are public. They are refused where they could protect real money: in
 * production, or on an address other tablets (and everyone else on the network) can reach —
 * unless the operator opts in explicitly. Returns the reason to refuse, or null.
 */
export function demoCredentialsRefusal(opts: {
  isDemo: boolean;
  allowDemoCredentials: boolean;
  nodeEnv: string | undefined;
  host: string;
  configPath: string;
}): string | null {
  if (!opts.isDemo || opts.allowDemoCredentials) return null;
  const why =
    opts.nodeEnv === 'production'
      ? 'NODE_ENV=production'
      : !isLoopbackHost(opts.host)
        ? `it would listen on ${opts.host}, which other machines can reach`
        : null;
  if (!why) return null;
  return [
    `refusing to start: ${opts.configPath} uses the public demo credentials and ${why}.`,
    'Set your own passwords (copy config.example.json to config.json, use "tabshop-gateway hash-password" for passwordHash),',
    'or, for a demo only, opt in with "ops": {"allowDemoCredentials": true} or ALLOW_DEMO_CREDENTIALS=true.',
  ].join('\n');
}
