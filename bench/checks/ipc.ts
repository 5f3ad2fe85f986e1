// Request/response over a forked child's IPC channel, for the benchmark's children.
import type { ChildProcess } from 'node:child_process';

export interface Reply {
  id: number;
  ok: boolean;
  error?: string;
  value?: unknown;
}

let nextId = 1;

export function call<T>(child: ChildProcess, method: string, arg?: unknown, timeoutMs = 120_000): Promise<T> {
  const id = nextId++;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage);
      reject(new Error(`bench child ${child.pid}: ${method} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (m: Reply) => {
      if (m?.id !== id) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      if (m.ok) resolve(m.value as T);
      else reject(new Error(`bench child ${child.pid}: ${method}: ${m.error}`));
    };
    child.on('message', onMessage);
    child.send({ id, method, arg });
  });
}

/** In a child: answers calls with the given handlers. */
export function serve(handlers: Record<string, (arg: unknown) => unknown>): void {
  process.on('message', async (m: { id: number; method: string; arg: unknown }) => {
    const h = handlers[m.method];
    try {
      if (!h) throw new Error(`unknown method ${m.method}`);
      process.send!({ id: m.id, ok: true, value: await h(m.arg) });
    } catch (err) {
      process.send!({ id: m.id, ok: false, error: err instanceof Error ? err.stack ?? err.message : String(err) });
    }
  });
}
