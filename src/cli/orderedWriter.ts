import type { AtomicFileWriter } from '../core/io/atomicWrite';

/**
 * Results arrive out of order (cached records at once, chunks as they finish); the output file is in
 * dataset order. Rows wait here until every earlier row has arrived, so memory is bounded by the
 * records in flight.
 */
export class OrderedWriter {
  private readonly waiting = new Map<number, string>();
  private next = 0;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly writer: AtomicFileWriter | undefined) {}

  put(index: number, row: string): void {
    this.waiting.set(index, row);
    let text = '';
    while (this.waiting.has(this.next)) {
      text += this.waiting.get(this.next)! + '\n';
      this.waiting.delete(this.next++);
    }
    if (text && this.writer) {
      const writer = this.writer;
      this.writing = this.writing.then(() => writer.write(text));
    }
  }

  async finish(): Promise<void> {
    await this.writing;
    if (this.waiting.size > 0) throw new Error(`internal: ${this.waiting.size} result row(s) never became writable`);
  }
}
