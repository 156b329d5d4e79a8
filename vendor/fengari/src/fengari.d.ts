// Loose typing for src/lua/fengari.ts's import of this CommonJS module (the VM's API is typed there).
declare const fengari: Record<string, unknown>;
export = fengari;
