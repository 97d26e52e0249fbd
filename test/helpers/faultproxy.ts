import * as http from 'node:http';
import type * as net from 'node:net';

/** What the proxy does with one request. */
export type FaultAction =
  | { kind: 'pass' }
  /** Answer with this status without contacting the registry (e.g. 503, or 429 with Retry-After). */
  | { kind: 'status'; status: number; headers?: Record<string, string> }
  /** Forward, then cut the connection after this many response body bytes. */
  | { kind: 'dropResponse'; afterBytes: number }
  /**
   * Cut the client connection after receiving this many request body bytes. By default the proxy acts as a
   * request-buffering front end (nginx's default): nothing of the cut request reaches the registry. With
   * forwardPartial the bytes stream through first, so the registry sees a truncated body.
   */
  | { kind: 'dropRequest'; afterBytes: number; forwardPartial?: boolean }
  /** Forward, flipping the response body byte at this offset (length unchanged). */
  | { kind: 'corrupt'; at: number };

/** One request the proxy saw. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  /** Request body bytes received from the client. */
  bodyBytes: number;
  action: FaultAction['kind'];
}

/** An in-process HTTP proxy on 127.0.0.1 in front of a registry, injecting faults chosen per request. */
export interface FaultProxy {
  host: string;
  port: number;
  seen: SeenRequest[];
  rule: (req: http.IncomingMessage, seen: SeenRequest[]) => FaultAction;
  stop(): Promise<void>;
}

/** Starts the proxy forwarding to 127.0.0.1:targetPort (plain HTTP); the Host header passes through unchanged. */
export async function startFaultProxy(targetPort: number): Promise<FaultProxy> {
  const sockets = new Set<net.Socket>();
  const proxy: FaultProxy = { host: '', port: 0, seen: [], rule: () => ({ kind: 'pass' }), stop: async () => {} };
  const server = http.createServer((req, res) => {
    const action = proxy.rule(req, proxy.seen);
    const record: SeenRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, bodyBytes: 0, action: action.kind };
    proxy.seen.push(record);
    if (action.kind === 'status') {
      req.resume();
      req.on('end', () => {
        res.writeHead(action.status, { 'content-type': 'application/json', ...action.headers });
        res.end('{"errors":[{"code":"UNAVAILABLE","message":"injected fault"}]}');
      });
      return;
    }
    if (action.kind === 'dropRequest' && !action.forwardPartial) {
      req.on('data', (chunk: Buffer) => {
        record.bodyBytes += chunk.length;
        if (record.bodyBytes >= action.afterBytes) req.socket.destroy();
      });
      return;
    }
    const up = http.request({ host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      let sent = 0;
      ur.on('data', (chunk: Buffer) => {
        if (action.kind === 'dropResponse' && sent + chunk.length > action.afterBytes) {
          res.write(chunk.subarray(0, Math.max(0, action.afterBytes - sent)));
          res.socket?.destroy();
          ur.destroy();
          return;
        }
        if (action.kind === 'corrupt' && action.at >= sent && action.at < sent + chunk.length) {
          chunk = Buffer.from(chunk);
          chunk[action.at - sent] = (chunk[action.at - sent] ?? 0) ^ 0xff;
        }
        sent += chunk.length;
        res.write(chunk);
      });
      ur.on('end', () => res.end());
    });
    up.on('error', () => res.socket?.destroy());
    req.on('data', (chunk: Buffer) => {
      if (action.kind === 'dropRequest' && record.bodyBytes + chunk.length > action.afterBytes) {
        up.write(chunk.subarray(0, Math.max(0, action.afterBytes - record.bodyBytes)));
        record.bodyBytes += chunk.length;
        up.destroy();
        req.socket.destroy();
        return;
      }
      record.bodyBytes += chunk.length;
      up.write(chunk);
    });
    req.on('end', () => up.end());
  });
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  proxy.port = (server.address() as net.AddressInfo).port;
  proxy.host = `127.0.0.1:${proxy.port}`;
  proxy.stop = () =>
    new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    });
  return proxy;
}
