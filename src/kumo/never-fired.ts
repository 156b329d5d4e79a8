/**
 * Events a KumoMTA policy may handle that kumo-lua never fires
 * (lua-api-more.md §8), with the reason. `--validate` warns about handlers
 * for them. When a feature lands, remove its event here.
 */
export const NEVER_FIRED_EVENTS: Readonly<Record<string, string>> = {
  xfer_message_received: 'message transfer between nodes (kumo.xfer) is not provided',
  smtp_server_message_deferred_inject: 'the ESMTP deferred_queue option is not provided',
  dmarc_report_generated: 'DMARC aggregate reporting (kumo.dmarc.start_dmarc_reporter) is not provided',
  tsa_init: "it belongs to KumoMTA's traffic shaping automation daemon (tsa-daemon), which kumo-lua does not run",
  tsa_load_shaping_data: "it belongs to KumoMTA's traffic shaping automation daemon (tsa-daemon), which kumo-lua does not run",
  proxy_init: "it belongs to KumoMTA's SOCKS5 proxy server (kumo-proxy), which kumo-lua does not run",
  proxy_server_auth_rfc1929: "it belongs to KumoMTA's SOCKS5 proxy server (kumo-proxy), which kumo-lua does not run",
};

/** One warning line per registered handler kumo-lua will never call. */
export function neverFiredWarnings(registered: Iterable<string>): string[] {
  const out: string[] = [];
  for (const name of registered) {
    const why = NEVER_FIRED_EVENTS[name];
    if (why) out.push(`warning: a handler for '${name}' is registered, but kumo-lua never fires that event: ${why}`);
  }
  return out.sort();
}
