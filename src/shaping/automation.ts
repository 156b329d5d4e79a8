/**
 * `[[<block>.automation]]` rules: kumo-lua validates and stores them (a
 * shaping daemon evaluates them); `match_rules` finds the ones a log record's
 * response text matches.
 */
import { isJsonObject, type JsonObject, type JsonValue } from '../util/json.ts';
import { parseDuration } from '../util/duration.ts';
import { parseThrottleSpec } from '../queue/throttle.ts';

const SIMPLE_ACTIONS = ['Suspend', 'SuspendTenant', 'SuspendCampaign', 'Bounce', 'BounceTenant', 'BounceCampaign'];
const CONFIG_ACTIONS = ['SetConfig', 'SetDomainConfig'];
const RULE_KEYS = ['regex', 'action', 'trigger', 'duration', 'match_internal'];

export interface AutomationRule {
  /** The rule as written (what match_rules returns). */
  raw: JsonObject;
  patterns: RegExp[];
  matchInternal: boolean;
}

/** Rust-regex inline flags at the start (`(?i)`) become JS flags. */
function compile(pattern: string, where: string): RegExp {
  const flags = /^\(\?([imsx]+)\)/.exec(pattern);
  const body = flags ? pattern.slice(flags[0].length) : pattern;
  try {
    return new RegExp(body, (flags?.[1] ?? '').replace(/x/g, ''));
  } catch (err) {
    throw new Error(`${where}.regex: ${(err as Error).message}`);
  }
}

function checkAction(action: JsonValue, where: string): void {
  if (typeof action === 'string' && SIMPLE_ACTIONS.includes(action)) return;
  if (isJsonObject(action)) {
    const [kind, ...rest] = Object.keys(action);
    const body = kind === undefined ? undefined : action[kind];
    if (rest.length === 0 && kind !== undefined && CONFIG_ACTIONS.includes(kind) && isJsonObject(body) && typeof body.name === 'string' && body.value !== undefined) return;
  }
  throw new Error(`${where}.action: expected one of ${SIMPLE_ACTIONS.join(', ')}, { SetConfig = { name, value } } or { SetDomainConfig = { name, value } }, got ${JSON.stringify(action)}`);
}

function checkTrigger(trigger: JsonValue | undefined, where: string): void {
  if (trigger === undefined || trigger === 'Immediate') return;
  if (isJsonObject(trigger) && typeof trigger.Threshold === 'string' && Object.keys(trigger).length === 1) {
    try {
      parseThrottleSpec(trigger.Threshold);
      return;
    } catch (err) {
      throw new Error(`${where}.trigger: ${(err as Error).message}`);
    }
  }
  throw new Error(`${where}.trigger: expected "Immediate" or { Threshold = "N/period" }`);
}

export function parseAutomationRule(raw: JsonValue, where: string): AutomationRule {
  if (!isJsonObject(raw)) throw new Error(`${where} must be a table`);
  for (const key of Object.keys(raw)) {
    if (!RULE_KEYS.includes(key)) throw new Error(`${where}: unknown field \`${key}\`, expected one of ${RULE_KEYS.map((k) => `\`${k}\``).join(', ')}`);
  }
  const regex = raw.regex;
  const texts = typeof regex === 'string' ? [regex] : Array.isArray(regex) && regex.every((r) => typeof r === 'string') ? (regex as string[]) : undefined;
  if (!texts) throw new Error(`${where}.regex must be a string or an array of strings`);
  if (raw.action === undefined) throw new Error(`${where}: missing field \`action\``);
  for (const action of Array.isArray(raw.action) ? raw.action : [raw.action]) checkAction(action, where);
  checkTrigger(raw.trigger, where);
  if (raw.duration === undefined) throw new Error(`${where}: missing field \`duration\``);
  parseDuration(raw.duration, `${where}.duration`);
  if (raw.match_internal !== undefined && typeof raw.match_internal !== 'boolean') throw new Error(`${where}.match_internal must be a boolean`);
  return { raw, patterns: texts.map((t) => compile(t, where)), matchInternal: raw.match_internal === true };
}

/** KumoMTA marks responses it made up itself (not from the peer) this way. */
const INTERNAL_PREFIX = 'KumoMTA internal: ';

export function ruleMatches(rule: AutomationRule, responseText: string): boolean {
  if (!rule.matchInternal && responseText.startsWith(INTERNAL_PREFIX)) return false;
  return rule.patterns.some((p) => p.test(responseText));
}
