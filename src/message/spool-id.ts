import { v1 as uuidV1 } from 'uuid';

/**
 * KumoMTA spool ids are UUID v1 rendered as 32 lowercase hex digits. The
 * creation time embedded in the id is the message's `created` time.
 */
export function newSpoolId(nowMs: number = Date.now()): string {
  return uuidV1({ msecs: nowMs }).replace(/-/g, '');
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
