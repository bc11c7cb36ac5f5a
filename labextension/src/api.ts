/**
 * The Lepton Lab client wired to JupyterLab's `ServerConnection`.
 *
 * `ServerConnection.makeRequest` adds the token/XSRF headers and honours the
 * server's base URL; WebSockets get the token as a query parameter (browsers
 * cannot set headers on them), as JupyterLab's kernel sockets do.
 */
import { ServerConnection } from '@jupyterlab/services';

import { LeptonClient } from './client';
import { ISocketLike } from './socket';

/** A client for the server this page was loaded from. */
export function createClient(settings: ServerConnection.ISettings = ServerConnection.makeSettings()): LeptonClient {
  return new LeptonClient({
    baseUrl: settings.baseUrl,
    wsUrl: settings.wsUrl,
    token: settings.token,
    request: (url, init) => ServerConnection.makeRequest(url, init, settings)
  });
}

/** Opens a WebSocket with the server settings' WebSocket class. */
export function socketFactory(
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): (url: string) => ISocketLike {
  return url => new settings.WebSocket(url) as unknown as ISocketLike;
}
