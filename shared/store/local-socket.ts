/**
 * The local server's stand-ins listen on unix sockets inside the data directory (mode 0700), so that only
 * this user's processes that can read that directory reach them: a TCP port on loopback is open to every
 * local process and, through DNS rebinding or a page's fetch, to the browser. SDK clients reach a socket
 * through an agent whose every connection goes to the socket path; the endpoint URL is then a placeholder.
 */
import { Agent, type AgentOptions } from 'node:http';
import { createConnection, type Socket } from 'node:net';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/** The endpoint the SDK is given for a socket: only its Host header and path style come from it. */
export const SOCKET_ENDPOINT = 'http://localhost';

class UnixSocketAgent extends Agent {
  constructor(
    private readonly socketPath: string,
    options: AgentOptions,
  ) {
    super(options);
  }

  override createConnection(): Socket {
    return createConnection(this.socketPath);
  }
}

function unixSocketAgent(socketPath: string): Agent {
  return new UnixSocketAgent(socketPath, { keepAlive: true, maxSockets: 50 });
}

/** Client options for an SDK client that talks to a stand-in over its socket. */
export function socketClientOptions(socketPath: string): {
  endpoint: string;
  requestHandler: NodeHttpHandler;
} {
  return {
    endpoint: SOCKET_ENDPOINT,
    requestHandler: new NodeHttpHandler({ httpAgent: unixSocketAgent(socketPath) }),
  };
}
