import { randomBytes } from 'node:crypto';

/**
 * KumoMTA spool ids are UUID v1 rendered as 32 lowercase hex digits. The
 * creation time embedded in the id is the message's `created` time.
 *
 * The node and clock sequence are drawn once per process and the id is
 * formatted here: the uuid package fills 16 random bytes for every v1 id
 * even when given every field, a measurable cost per received message.
 */
const NODE = (() => {
  const b = randomBytes(6);
  b[0]! |= 0x01; // multicast bit: a random node id, not a MAC address
  return b;
})();
let clockseq = randomBytes(2).readUInt16BE(0) & 0x3fff;
let lastMs = -1;
let sameMsCounter = 0;

export function newSpoolId(nowMs: number = Date.now()): string {
  return newSpoolIdAt(nowMs).id;
}

/**
 * A new id encoding exactly `nowMs`. Ids made in the same millisecond differ
 * in the 100ns field; when time goes backwards (a test's virtual clock) or a
 * millisecond runs out of ticks, the clock sequence moves on instead, as
 * RFC 9562 prescribes, so the embedded time stays the one asked for.
 */
export function newSpoolIdAt(nowMs: number): { id: string; createdMs: number } {
  const msecs = Math.floor(nowMs);
  if (msecs === lastMs && sameMsCounter < 9999) {
    sameMsCounter++;
  } else {
    if (msecs <= lastMs) clockseq = (clockseq + 1) & 0x3fff;
    lastMs = msecs;
    sameMsCounter = 0;
  }
  return { id: formatUuidV1(msecs, sameMsCounter, clockseq), createdMs: msecs };
}

const NODE_HEX = NODE.toString('hex');
// Milliseconds between the Gregorian epoch (1582-10-15) and the Unix epoch.
const GREGORIAN_OFFSET_MS = 12219292800000;

function hex(value: number, digits: number): string {
  return value.toString(16).padStart(digits, '0');
}

/** RFC 9562 UUID v1 as 32 hex digits: 100ns ticks since 1582 = msecs·10⁴ + nsecs. */
function formatUuidV1(unixMs: number, nsecs: number, seq: number): string {
  const ms = unixMs + GREGORIAN_OFFSET_MS;
  // The 60-bit tick count split without leaving float precision: low 32 bits, then the rest.
  const timeLow = ((ms % 0x10000000) * 10000 + nsecs) % 0x100000000;
  const timeMidHigh = Math.floor(ms / 0x100000000) * 10000 + Math.floor(((ms % 0x100000000) * 10000 + nsecs) / 0x100000000);
  const timeMid = timeMidHigh & 0xffff;
  const timeHigh = ((timeMidHigh / 0x10000) & 0x0fff) | 0x1000;
  return hex(timeLow, 8) + hex(timeMid, 4) + hex(timeHigh, 4) + hex((seq & 0x3fff) | 0x8000, 4) + NODE_HEX;
}

// 100ns intervals between the Gregorian epoch (1582-10-15) and the Unix epoch.
const GREGORIAN_OFFSET_100NS = 122192928000000000n;

/** Milliseconds since the Unix epoch encoded in a UUID v1 spool id. */
export function createdMsFromSpoolId(id: string): number {
  if (!/^[0-9a-f]{32}$/.test(id)) throw new Error(`invalid spool id: ${id}`);
  const timeLow = BigInt('0x' + id.slice(0, 8));
  const timeMid = BigInt('0x' + id.slice(8, 12));
  const timeHigh = BigInt('0x' + id.slice(12, 16)) & 0x0fffn;
  const ticks = (timeHigh << 48n) | (timeMid << 32n) | timeLow;
  return Number((ticks - GREGORIAN_OFFSET_100NS) / 10000n);
}
