import helmet from 'helmet';

type Directives = Record<string, string[]>;

/**
 * Security headers of the gateway's web pages (status, back office, kitchen): a strict CSP built
 * from `directives` on top of default-src/frame-ancestors/base-uri 'none' (no helmet defaults:
 * they add upgrade-insecure-requests, which would send forms to https:// on a plain-HTTP LAN),
 * no HSTS (TLS is the proxy's business), no framing, and Referrer-Policy same-origin, which keeps
 * Origin/Referer on our own form posts for the CSRF same-origin check.
 */
export function pageSecurityHeaders(directives: Directives) {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], ...directives },
    },
    strictTransportSecurity: false,
    xFrameOptions: { action: 'deny' },
    referrerPolicy: { policy: 'same-origin' },
  });
}
