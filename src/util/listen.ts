/** Parses KumoMTA-style listen addresses: "host:port", "[v6]:port", ":port". */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen.trim());
  if (!m) throw new Error(`invalid listen address '${listen}': expected host:port`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`invalid listen address '${listen}': port out of range`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}
