/** An error a `sift serve` route answers with its own HTTP status (and OpenAI/vLLM error type). */
export class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly type?: string, readonly param?: string) {
    super(message);
  }
}
