/**
 * A loopback file server standing in for Hugging Face and plain model URLs: every GET answers with
 * `body` (Range requests with 206 and Content-Range, as Hugging Face's CDN does), HEAD with the
 * headers alone. Faults on demand: a slow trickle (so a download can be stopped midway) and a
 * connection dropped once after some bytes.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ServedRequest {
  method: string;
  path: string;
  range?: string;
}

export class FileServer {
  readonly requests: ServedRequest[] = [];
  /** Bytes written on responses to Range requests (the download streams proper). */
  rangedBytesSent = 0;
  /** Pause between 64 KiB pieces, in ms (0: full speed). */
  trickleMs = 0;
  /** Drop the next response that would send more than this many bytes, after sending this many. */
  dropOnceAfter: number | undefined;
  dropped = 0;
  private readonly server: http.Server;

  constructor(public body: Buffer) {
    this.server = http.createServer((req, res) => void this.answer(req, res));
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async answer(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const range = req.headers.range;
    this.requests.push({ method: req.method ?? '', path: req.url ?? '', range });
    const size = this.body.length;
    const match = range ? /^bytes=(\d+)-(\d*)$/.exec(range) : null;
    const start = match ? Number(match[1]) : 0;
    const end = match && match[2] ? Math.min(Number(match[2]), size - 1) : size - 1;
    const piece = this.body.subarray(start, end + 1);
    res.writeHead(match ? 206 : 200, {
      'content-type': 'application/octet-stream',
      'content-length': piece.length,
      'accept-ranges': 'bytes',
      ...(match ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const dropAt = this.dropOnceAfter !== undefined && piece.length > this.dropOnceAfter ? this.dropOnceAfter : undefined;
    if (dropAt !== undefined) this.dropOnceAfter = undefined;
    for (let offset = 0; offset < piece.length; offset += 65536) {
      if (res.destroyed) return;
      if (dropAt !== undefined && offset >= dropAt) {
        this.dropped++;
        res.destroy();
        return;
      }
      const chunk = piece.subarray(offset, offset + 65536);
      const drained = res.write(chunk);
      if (match) this.rangedBytesSent += chunk.length;
      if (!drained) await new Promise((resolve) => res.once('drain', resolve));
      if (this.trickleMs > 0) await new Promise((resolve) => setTimeout(resolve, this.trickleMs));
    }
    res.end();
  }
}
