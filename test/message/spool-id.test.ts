import { v1 as uuidV1 } from 'uuid';
import { describe, expect, it } from 'vitest';
import { createdMsFromSpoolId, newSpoolIdAt } from '../../src/message/spool-id.ts';

describe('spool ids (UUID v1 as 32 hex digits)', () => {
  it('are the exact RFC 9562 v1 layout the uuid package produces, for times across the whole range', () => {
    for (const ms of [0, 1, 999, 1733300000000, 1733300000123, 2 ** 40 + 5, 4102444800000, 1e14]) {
      for (let tick = 0; tick < 3; tick++) {
        const { id, createdMs } = newSpoolIdAt(ms); // same millisecond: the 100ns field counts 0, 1, 2
        expect(id).toMatch(/^[0-9a-f]{12}1[0-9a-f]{3}[89ab][0-9a-f]{15}$/);
        const clockseq = parseInt(id.slice(16, 20), 16) & 0x3fff;
        const reference = uuidV1({ msecs: ms, nsecs: tick, clockseq, node: Uint8Array.from(Buffer.from(id.slice(20), 'hex')) }).replace(/-/g, '');
        expect(id).toBe(reference);
        expect(createdMs).toBe(ms);
        expect(createdMsFromSpoolId(id)).toBe(ms);
      }
    }
  });

  it('ids made in one millisecond are distinct; a clock going back moves the clock sequence on', () => {
    const ids = new Set(Array.from({ length: 5000 }, () => newSpoolIdAt(1733300001000).id));
    expect(ids.size).toBe(5000);
    const later = newSpoolIdAt(1733300002000).id;
    const earlier = newSpoolIdAt(1733300001000).id;
    expect(earlier.slice(16, 20)).not.toBe(later.slice(16, 20));
    expect(ids.has(earlier)).toBe(false);
  });
});
