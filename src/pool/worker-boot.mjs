// Worker entry when kumo-lua runs from its TypeScript sources (tests, bench,
// a clone without a fresh build): registers tsx in this thread, then loads
// the real entry. The compiled package starts dist/pool/worker-main.js instead.
import { register } from 'tsx/esm/api';

register();
await import('./worker-main.ts');
