/**
 * Outbox targets are named "upstream" or "webhook:<url>". A webhook URL may carry credentials
 * (user:pass@) or a token in its query string, so logs, metrics and the status page show only
 * scheme, host and path.
 */
export function safeTarget(target: string): string {
  const m = /^(webhook:)(.*)$/.exec(target);
  return m ? m[1] + safeUrl(m[2]) : safeUrl(target);
}

export function safeUrl(text: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return text;
  try {
    const url = new URL(text);
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return text.replace(/\/\/[^/@]*@/, '//').replace(/[?#].*$/, '');
  }
}

/** Error messages from HTTP clients may quote a URL; strip credentials and query strings from any URL in the text. */
export function safeText(text: string): string {
  return text.replace(/[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi, (url) => safeUrl(url));
}

/**
 * A URL as it may be shown and stored: credentials become `***@`, every query value `***` (names
 * kept, so `?token=***` still says what is there), no fragment. Identifies a webhook without its secrets.
 */
export function redactUrl(text: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return text;
  try {
    const url = new URL(text);
    const userinfo = url.username || url.password ? '***@' : '';
    const keys = [...new Set(url.searchParams.keys())];
    const query = keys.length > 0 ? `?${keys.map((k) => `${encodeURIComponent(k)}=***`).join('&')}` : '';
    return `${url.protocol}//${userinfo}${url.host}${url.pathname}${query}`;
  } catch {
    return safeUrl(text);
  }
}
