/** What an HTTP trigger's request offers for reading its body (the Functions HttpRequest fits). */
export interface BodySource {
  headers: Headers;
  body: ReadableStream<Uint8Array> | null;
}

/** The body as text, or null when it exceeds `limit` bytes (by Content-Length or by what actually arrives). */
export async function readLimitedBody(request: BodySource, limit: number): Promise<string | null> {
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (Number.isFinite(declared) && declared > limit) return null;
  if (!request.body) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
