/**
 * The RFC 4648 codecs of kumo.encode and BinaryResult (clients.md §9.3, §10),
 * with the data-encoding crate's strict decoding: exact alphabet, no
 * whitespace, impossible lengths and non-zero trailing bits rejected, errors
 * spelled `<kind> at <position>`.
 */
export class DecodeError extends Error {}

interface Codec {
  alphabet: string;
  bits: number;
  pad: boolean;
}

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const B32HEX = '0123456789ABCDEFGHIJKLMNOPQRSTUV';
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

export const CODECS = {
  base32: { alphabet: B32, bits: 5, pad: true },
  base32_nopad: { alphabet: B32, bits: 5, pad: false },
  base32hex: { alphabet: B32HEX, bits: 5, pad: true },
  base32hex_nopad: { alphabet: B32HEX, bits: 5, pad: false },
  base64: { alphabet: B64, bits: 6, pad: true },
  base64_nopad: { alphabet: B64, bits: 6, pad: false },
  base64url: { alphabet: B64URL, bits: 6, pad: true },
  base64url_nopad: { alphabet: B64URL, bits: 6, pad: false },
  hex: { alphabet: '0123456789abcdef', bits: 4, pad: false },
} satisfies Record<string, Codec>;

export type CodecName = keyof typeof CODECS;
export const CODEC_NAMES = Object.keys(CODECS) as CodecName[];

/** Symbols per block of whole bytes: 8 for base32, 4 for base64, 2 for hex. */
function blockSymbols(bits: number): number {
  return bits === 5 ? 8 : bits === 6 ? 4 : 2;
}

export function encodeWith(name: CodecName, bytes: Uint8Array): string {
  const { alphabet, bits, pad } = CODECS[name] as Codec;
  let out = '';
  let acc = 0;
  let accBits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    accBits += 8;
    while (accBits >= bits) {
      accBits -= bits;
      out += alphabet[(acc >> accBits) & ((1 << bits) - 1)];
    }
    acc &= (1 << accBits) - 1;
  }
  if (accBits > 0) out += alphabet[(acc << (bits - accBits)) & ((1 << bits) - 1)];
  if (pad) {
    const block = blockSymbols(bits);
    while (out.length % block !== 0) out += '=';
  }
  return out;
}

/** Remainders (symbols mod block) that can end a valid input. */
function validTail(bits: number, rem: number): boolean {
  if (bits === 6) return rem !== 1;
  if (bits === 5) return rem !== 1 && rem !== 3 && rem !== 6;
  return rem === 0;
}

export function decodeWith(name: CodecName, text: string): Uint8Array {
  const { alphabet, bits, pad } = CODECS[name] as Codec;
  let input = text;
  if (pad) input = input.replace(/=+$/, '');
  const block = blockSymbols(bits);
  const rem = input.length % block;
  if (!validTail(bits, rem)) throw new DecodeError(`invalid length at ${input.length - rem}`);
  const out = new Uint8Array(Math.floor((input.length * bits) / 8));
  let acc = 0;
  let accBits = 0;
  let o = 0;
  for (let i = 0; i < input.length; i++) {
    const v = alphabet.indexOf(input[i]!);
    if (v < 0) {
      if (input[i] === '=' && pad) throw new DecodeError(`invalid padding length at ${i}`);
      throw new DecodeError(`invalid symbol at ${i}`);
    }
    acc = (acc << bits) | v;
    accBits += bits;
    if (accBits >= 8) {
      accBits -= 8;
      out[o++] = (acc >> accBits) & 0xff;
      acc &= (1 << accBits) - 1;
    }
  }
  if (accBits > 0 && acc !== 0) throw new DecodeError(`non-zero trailing bits at ${input.length - 1}`);
  return out;
}
