import { describe, expect, it } from 'vitest';
import { idealConnectionCount } from '../../src/queue/ready-queue.ts';

describe('idealConnectionCount (smtp-delivery.md §5.2, checklist 82)', () => {
  it.each([[1, 1], [2, 2], [3, 3], [10, 7], [32, 17], [128, 31], [256, 32], [10_000, 32], [0, 0]])('%i ready with limit 32 → %i sessions', (ready, sessions) => {
    expect(idealConnectionCount(ready, 32)).toBe(sessions);
  });

  it('never exceeds the ready count or the limit', () => {
    expect(idealConnectionCount(5, 1)).toBe(1);
    expect(idealConnectionCount(2, 100)).toBe(2);
  });
});
