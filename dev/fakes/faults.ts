/**
 * Fault injection shared by the fakes: tests and the sandbox tell a fake to answer some requests
 * with errors (429 with Retry-After, 500, 503), to hang past the client timeout, or to add latency.
 */
export interface FaultRule {
  /** Which requests the rule applies to; all when absent. */
  match?: (request: Request) => boolean;
  /** HTTP status to answer with, or 'hang' to never answer (until the client gives up). */
  status: number | 'hang';
  retryAfterSeconds?: number;
  /** How many matching requests fail before the rule is used up; unlimited when absent. */
  times?: number;
  /** Fraction of matching requests that fail (0..1); 1 when absent. */
  probability?: number;
}

export class FaultInjector {
  private rules: Array<FaultRule & { remaining: number }> = [];
  /** Added to every request, in milliseconds. */
  latencyMs = 0;
  injected = 0;

  constructor(private readonly random: () => number = Math.random) {}

  add(rule: FaultRule): this {
    this.rules.push({ ...rule, remaining: rule.times ?? Number.POSITIVE_INFINITY });
    return this;
  }

  clear(): void {
    this.rules = [];
    this.latencyMs = 0;
  }

  /** Applies latency, then returns the fault to answer with, if any. */
  async apply(request: Request, errorBody: (status: number) => unknown): Promise<Response | undefined> {
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    for (const rule of this.rules) {
      if (rule.remaining <= 0) continue;
      if (rule.match && !rule.match(request)) continue;
      if (rule.probability !== undefined && this.random() >= rule.probability) continue;
      rule.remaining -= 1;
      this.injected += 1;
      if (rule.status === 'hang') {
        await new Promise<void>((resolve) => {
          if (request.signal.aborted) return resolve();
          request.signal.addEventListener('abort', () => resolve(), { once: true });
        });
        return Response.error();
      }
      const headers: Record<string, string> = { 'Content-Type': 'application/json' };
      if (rule.retryAfterSeconds !== undefined) headers['Retry-After'] = String(rule.retryAfterSeconds);
      return new Response(JSON.stringify(errorBody(rule.status)), { status: rule.status, headers });
    }
    return undefined;
  }
}
