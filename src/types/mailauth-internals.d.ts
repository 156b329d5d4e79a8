// mailauth's building blocks used by src/auth (the package ships no types for these files).
declare module 'mailauth/lib/tools.js' {
  export interface ParsedHeaderLine {
    key: string | null;
    casedKey: string | undefined;
    line: Buffer;
  }
  export interface SigningHeaderLines {
    keys: string;
    headers: ParsedHeaderLine[];
  }
  export interface TagValue {
    value: string | number;
  }
  export interface ParsedSignature {
    original: string;
    parsed?: Record<string, TagValue | undefined>;
  }
  const tools: {
    parseHeaders(buf: Buffer): { parsed: ParsedHeaderLine[]; original: Buffer };
    getSigningHeaderLines(parsed: ParsedHeaderLine[], fieldNames: string, verify: boolean): SigningHeaderLines;
    formatSignatureHeaderLine(type: 'DKIM' | 'ARC' | 'AS', values: Record<string, unknown>, folded: boolean): string;
    parseDkimHeaders(line: Buffer | string): ParsedSignature;
  };
  export default tools;
}

declare module 'mailauth/lib/dkim/body/index.js' {
  interface BodyHasher {
    update(chunk: Buffer): void;
    digest(encoding: 'base64'): string;
  }
  const body: { dkimBody(canonicalization: string, hashAlgo: string, maxBodyLength: number | false): BodyHasher };
  export default body;
}

declare module 'mailauth/lib/dkim/header/index.js' {
  import type { SigningHeaderLines } from 'mailauth/lib/tools.js';
  const header: {
    generateCanonicalizedHeader(
      type: 'DKIM',
      lines: SigningHeaderLines,
      options: Record<string, unknown>,
    ): { canonicalizedHeader: Buffer; dkimHeaderOpts: Record<string, unknown> };
  };
  export default header;
}

declare module 'mailauth/lib/spf/spf-verify.js' {
  const spfVerifyModule: { spfVerify(domain: string, opts: Record<string, unknown>): Promise<unknown> };
  export default spfVerifyModule;
}

declare module 'mailauth/lib/spf/macro.js' {
  const macro: (input: string, values: Record<string, string | undefined>) => string;
  export default macro;
}
