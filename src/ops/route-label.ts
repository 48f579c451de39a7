import type { Request } from 'express';

export const NO_ROUTE = '(no route)';

/**
 * The matched route pattern with its mount path ("/api/sales/:id"), never the raw URL, so that
 * metric labels stay bounded. Express resets req.baseUrl when an error leaves a router, so the
 * mount path is rebuilt from the request path: a pattern without wildcards or optional parts
 * matches exactly as many segments as it has, and the mount path is what precedes them.
 */
export function routeLabel(path: string, pattern: unknown): string {
  if (typeof pattern !== 'string') return NO_ROUTE;
  const patternSegments = pattern.split('/').filter(Boolean);
  if (/[*{}()]/.test(pattern)) return `/${patternSegments.join('/')}`;
  const pathSegments = path.split('?')[0].split('/').filter(Boolean);
  const mount = pathSegments.slice(0, Math.max(0, pathSegments.length - patternSegments.length));
  return `/${[...mount, ...patternSegments].join('/')}`;
}

export const routeOf = (req: Request) => routeLabel(req.originalUrl ?? req.url, req.route?.path);

/** The request path without its query string (legacy TabShop clients put credentials there). */
export const pathOf = (req: Request) => (req.originalUrl ?? req.url).split('?')[0];
