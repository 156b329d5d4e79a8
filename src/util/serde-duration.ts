/** How serde writes a Rust `Duration`: `{ secs, nanos }` (invoke_get_*, admin list from Lua). */
export interface SerdeDuration {
  [key: string]: number;
  secs: number;
  nanos: number;
}

export function durationToSerde(ms: number): SerdeDuration {
  const secs = Math.floor(ms / 1000);
  return { secs, nanos: Math.round((ms - secs * 1000) * 1e6) };
}
