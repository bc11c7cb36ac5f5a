/**
 * Authenticated calls to the Lepton Lab server extension.
 *
 * Everything goes through `ServerConnection`, which adds the token/XSRF
 * headers and honours the server's base URL.
 */
import { ServerConnection } from '@jupyterlab/services';

import { apiUrl } from './urls';

/** Answer of `GET /lepton-lab/api/status`. */
export interface IServerStatus {
  lepton_lab: string;
  tensorflow: string | null;
  keras: string | null;
  python: string;
  runs_dir: string;
}

/** Fetch JSON from an API endpoint, raising `ServerConnection.ResponseError` on failure. */
export async function requestAPI<T>(endpoint = '', init: RequestInit = {}): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = apiUrl(settings.baseUrl, endpoint);
  const response = await ServerConnection.makeRequest(url, init, settings);
  const text = await response.text();
  const data = text.length > 0 ? JSON.parse(text) : null;
  if (!response.ok) {
    throw new ServerConnection.ResponseError(response, data?.message ?? text);
  }
  return data as T;
}
