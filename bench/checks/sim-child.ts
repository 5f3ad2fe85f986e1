// Benchmark child: only the backend simulator, so its CPU is not counted against poold or HAProxy.
import { startSimulator, type Simulator } from '../../src/sim/simulator.js';
import { serve } from './ipc.js';

let sim: Simulator | undefined;

serve({
  async start(arg) {
    const { addresses, service } = arg as { addresses: string[]; service: string };
    sim = await startSimulator({ backends: addresses.map((address) => ({ address, port: 0, behaviour: 'ok' as const, service })) });
    return sim.list().map((b) => ({ address: b.address, port: b.port }));
  },
  totals() {
    return sim!.totals();
  },
  async stop() {
    await sim?.stop();
    setImmediate(() => process.exit(0));
    return true;
  },
});
