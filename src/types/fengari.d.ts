// Fengari ships no declarations; src/lua/fengari.ts types what we use.
declare module 'fengari';
