/** Reverse-DNS names: `192.0.2.5` → `5.2.0.192`, IPv6 → 32 reversed nibbles. */
import ipaddr from 'ipaddr.js';

export function reverseIp(ip: string): string {
  if (!ipaddr.isValid(ip)) throw new Error(`invalid IP address ${JSON.stringify(ip)}`);
  const addr = ipaddr.parse(ip);
  if (addr.kind() === 'ipv4') return (addr as ipaddr.IPv4).octets.slice().reverse().join('.');
  const nibbles: string[] = [];
  for (const byte of (addr as ipaddr.IPv6).toByteArray()) nibbles.push((byte >> 4).toString(16), (byte & 15).toString(16));
  return nibbles.reverse().join('.');
}

/** The PTR owner name, without trailing dot: `5.2.0.192.in-addr.arpa`. */
export function ptrHost(ip: string): string {
  const reversed = reverseIp(ip);
  const kind = ipaddr.parse(ip).kind();
  return `${reversed}.${kind === 'ipv4' ? 'in-addr' : 'ip6'}.arpa`;
}
