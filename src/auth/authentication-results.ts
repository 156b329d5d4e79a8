/**
 * AuthenticationResult (lua-api-more.md §5.3): what dkim_verify, spf, dmarc
 * and arc_verify return, and what add_authentication_results / arc_seal take
 * back — strictly, so a typo in a hand-built result is an error, not a header
 * that silently lacks it. Also the `Authentication-Results:` header text.
 */
import { JsonFloat, isJsonObject, type JsonObject, type JsonValue } from '../util/json.ts';

export interface AuthenticationResult {
  method: string;
  method_version?: number;
  result: string;
  reason?: string;
  /** ptype.property → value, e.g. `header.d` → `example.com`. */
  props: Record<string, string>;
}

export class AuthenticationResultError extends Error {}

const FIELDS = ['method', 'method_version', 'result', 'reason', 'props'];

function fail(message: string, value: JsonValue): never {
  throw new AuthenticationResultError(`${message}, while processing ${JSON.stringify(value)}`);
}

function stringField(o: JsonObject, name: string, required: boolean): string | undefined {
  const v = o[name];
  if (v === undefined || v === null) return required ? fail(`missing field \`${name}\``, o) : undefined;
  if (typeof v !== 'string') fail(`invalid type for \`${name}\`, expected a string`, o);
  return v;
}

/** One result from its JSON form (a Lua table converted); unknown keys raise. */
export function parseAuthenticationResult(value: JsonValue): AuthenticationResult {
  if (!isJsonObject(value)) fail('invalid type: expected an AuthenticationResult table', value);
  for (const key of Object.keys(value)) {
    if (!FIELDS.includes(key)) fail(`unknown field \`${key}\`, expected one of ${FIELDS.map((f) => `\`${f}\``).join(', ')}`, value);
  }
  const out: AuthenticationResult = { method: stringField(value, 'method', true)!, result: stringField(value, 'result', true)!, props: {} };
  const version = value.method_version instanceof JsonFloat ? value.method_version.value : value.method_version;
  if (version !== undefined && version !== null) {
    if (typeof version !== 'number' || !Number.isInteger(version) || version < 0) fail('invalid value for `method_version`, expected an integer', value);
    out.method_version = version;
  }
  const reason = stringField(value, 'reason', false);
  if (reason !== undefined) out.reason = reason;
  const props = value.props;
  if (props !== undefined && props !== null && !(Array.isArray(props) && props.length === 0)) {
    if (!isJsonObject(props)) fail('invalid type for `props`, expected a map of strings', value);
    for (const [k, v] of Object.entries(props)) {
      if (typeof v !== 'string') fail(`invalid type for props \`${k}\`, expected a string`, value);
      out.props[k] = v;
    }
  }
  return out;
}

/** A list of results from a Lua array. */
export function parseAuthenticationResults(value: JsonValue): AuthenticationResult[] {
  if (isJsonObject(value) && Object.keys(value).length === 0) return [];
  if (!Array.isArray(value)) fail('invalid type: expected an array of AuthenticationResult', value);
  return value.map(parseAuthenticationResult);
}

/** The table handed back to Lua. */
export function authenticationResultJson(r: AuthenticationResult): JsonObject {
  const out: JsonObject = { method: r.method };
  if (r.method_version !== undefined) out.method_version = r.method_version;
  out.result = r.result;
  if (r.reason !== undefined) out.reason = r.reason;
  out.props = { ...r.props };
  return out;
}

/** RFC 2045 token: printable ASCII without space and tspecials. */
const TOKEN = /^[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+$/;

function value(text: string): string {
  return TOKEN.test(text) ? text : `"${text.replace(/[\\"]/g, '\\$&')}"`;
}

/** `serv_id; method=result reason=...` lines, each continuation starting CRLF TAB. */
export function authenticationResultsValue(servId: string, results: readonly AuthenticationResult[]): string {
  if (results.length === 0) return `${servId}; none`;
  let out = servId;
  for (const r of results) {
    out += `;\r\n\t${r.method}${r.method_version === undefined ? '' : `/${r.method_version}`}=${r.result}`;
    if (r.reason !== undefined) out += ` reason=${value(r.reason)}`;
    for (const key of Object.keys(r.props).sort()) out += `\r\n\t${key}=${value(r.props[key]!)}`;
  }
  return out;
}

export function authenticationResultsHeader(servId: string, results: readonly AuthenticationResult[]): string {
  return `Authentication-Results: ${authenticationResultsValue(servId, results)}\r\n`;
}
