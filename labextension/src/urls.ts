/**
 * URL helpers for the Lepton Lab REST API.
 *
 * Kept free of JupyterLab imports so the unit tests run under plain Node.
 */

/** Path of the API below the server's base URL. */
export const API_NAMESPACE = 'lepton-lab/api';

/**
 * Join the server base URL and an API endpoint into a full URL.
 *
 * Works behind a base URL such as `/x/`: slashes are normalised so exactly one
 * separates each part.
 */
export function apiUrl(baseUrl: string, endpoint = '', query?: Record<string, string | number>): string {
  const parts = [baseUrl.replace(/\/+$/, ''), API_NAMESPACE, endpoint.replace(/^\/+/, '')].filter(
    part => part !== ''
  );
  let url = parts.join('/');
  if (query && Object.keys(query).length > 0) {
    const search = Object.entries(query)
      .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`)
      .join('&');
    url += `?${search}`;
  }
  return url;
}

/** Turn an http(s) URL into the matching ws(s) URL for WebSocket endpoints. */
export function toWebSocketUrl(url: string): string {
  return url.replace(/^http(s?):/, 'ws$1:');
}

/**
 * URL of an API WebSocket endpoint.
 *
 * `wsBaseUrl` is the server's WebSocket base (JupyterLab's `settings.wsUrl`,
 * base URL included). A non-empty `token` is sent as the `token` query
 * parameter, as JupyterLab's own kernel and terminal sockets do: browsers
 * cannot set an Authorization header on a WebSocket.
 */
export function socketUrl(
  wsBaseUrl: string,
  endpoint: string,
  query: Record<string, string | number> = {},
  token = ''
): string {
  const params = token ? { ...query, token } : query;
  return toWebSocketUrl(apiUrl(wsBaseUrl, endpoint, params));
}

/**
 * `path` relative to the server root `root` (both absolute, '/'-separated), or
 * null when it lies outside (the file browser cannot show it then).
 */
export function relativePath(root: string, path: string): string | null {
  const clean = (p: string) => p.replace(/\\/g, '/').replace(/\/+$/, '');
  const base = clean(root); // '' for the file system root
  const full = clean(path);
  if (!root.startsWith('/') || !full.startsWith('/')) {
    return null;
  }
  if (full === base) {
    return '';
  }
  return full.startsWith(`${base}/`) ? full.slice(base.length + 1) : null;
}
