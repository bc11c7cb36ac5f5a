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
