/**
 * The seams SMTP delivery needs from services built elsewhere (DNS, the
 * bounce classifier, the rewrite event, the harness). Egress sources come
 * with the ready queue (`ReadyQueue.source`, src/egress).
 */
import type { RecordResponse } from '../../records/types.ts';

/** One MX answer, bucketed by preference (smtp-delivery.md §1.3). */
export interface MxResult {
  /** Host names (lowercase, trailing dot, optional `:port`), one array per preference, most preferred first. */
  buckets: string[][];
  /** False for implicit MX and literals. */
  isMx: boolean;
  /** The MX answer was DNSSEC-validated (§3.4 DANE eligibility). */
  isSecure?: boolean;
  /** The domain's MTA-STS mode, applied to the TLS policy of each connection (§1.4, §3.4). */
  mtaSts?: MtaStsMode;
}

export type MtaStsMode = 'None' | 'Testing' | 'Enforce';

export type IpLookupStrategy = 'Ipv4AndIpv6' | 'Ipv4Only' | 'Ipv6Only' | 'Ipv4ThenIpv6' | 'Ipv6ThenIpv4';

export interface MxResolver {
  /** Throws with the text KumoMTA puts after `failed to resolve queue <q>: `. */
  resolveMx(domain: string): Promise<MxResult>;
  /** A/AAAA of a host name per strategy; [] when it has none. */
  lookupAddr(host: string, strategy: IpLookupStrategy): Promise<string[]>;
}

/** Bounce classifier: the class name of a response (`Uncategorized` when none matches). */
export type ResponseClassifier = (response: RecordResponse) => string;

/** `smtp_client_rewrite_delivery_status` (lua-api-more.md §8.3); null = unchanged. */
export type RewriteDeliveryStatus = (line: string, domain: string, tenant: string | null, campaign: string | null, routingDomain: string) => Promise<number | null>;

/** Everything SMTP delivery takes from outside the queue engine. */
export interface SmtpServices {
  resolver: MxResolver;
  classify: ResponseClassifier;
  rewriteDeliveryStatus: RewriteDeliveryStatus | null;
  /** EHLO name when neither the path nor the source gives one. */
  hostname: string;
  /**
   * Where to really connect for a candidate address (the test harness points
   * mocked MX names at local servers); null = connect as planned.
   */
  redirect: ((ip: string, port: number) => { ip: string; port: number } | null) | null;
}
