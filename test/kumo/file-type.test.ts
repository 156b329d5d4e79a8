import { describe, expect, it } from 'vitest';
import { errorOf, newLua } from '../helpers/lua.ts';

// A 1x1 PNG's signature and IHDR chunk, and a minimal PDF header.
const PNG = '\\x89PNG\\r\\n\\x1a\\n\\0\\0\\0\\rIHDR\\0\\0\\0\\1\\0\\0\\0\\1\\8\\6\\0\\0\\0\\x1f\\x15\\xc4\\x89';
const PDF = '%PDF-1.4\\n%\\xe2\\xe3\\xcf\\xd3\\n';

describe('kumo.file_type (§3.12)', () => {
  it('from_bytes recognises magic numbers', async () => {
    const t = newLua();
    expect(await t.eval(`return kumo.file_type.from_bytes('${PNG}')`)).toEqual({ name: 'PNG', extensions: ['png'], media_types: ['image/png'] });
    const pdf = (await t.eval(`return kumo.file_type.from_bytes('${PDF}')`)) as { media_types: string[]; extensions: string[] };
    expect(pdf.media_types).toEqual(['application/pdf']);
    expect(pdf.extensions[0]).toBe('pdf');
  });

  it('from_bytes always guesses: text is text/plain, other bytes application/octet-stream', async () => {
    const t = newLua();
    expect(await t.eval("return kumo.file_type.from_bytes('hello there\\n')")).toEqual({ name: 'Plain Text', extensions: ['txt'], media_types: ['text/plain'] });
    expect(await t.eval("return kumo.file_type.from_bytes('\\0\\1\\2\\3\\255')")).toEqual({
      name: 'Arbitrary Binary Data',
      extensions: ['bin'],
      media_types: ['application/octet-stream'],
    });
    expect(await t.eval("return kumo.file_type.from_bytes('')")).toMatchObject({ media_types: ['text/plain'] });
  });

  it('from_extension returns every media type that uses the extension', async () => {
    const t = newLua();
    const got = (await t.eval("return kumo.file_type.from_extension('.JPG')")) as { media_types: string[]; extensions: string[] }[];
    expect(got.map((g) => g.media_types[0])).toContain('image/jpeg');
    expect(got.find((g) => g.media_types[0] === 'image/jpeg')!.extensions).toEqual(expect.arrayContaining(['jpg', 'jpeg']));
    expect(await t.eval("return #kumo.file_type.from_extension('no-such-extension')")).toBe(0);
  });

  it('from_media_type maps a media type to its extensions', async () => {
    const t = newLua();
    expect(await t.eval("return kumo.file_type.from_media_type('Application/PDF')")).toEqual([{ name: 'PDF', extensions: ['pdf'], media_types: ['application/pdf'] }]);
    expect(await t.eval("return #kumo.file_type.from_media_type('x-nothing/never')")).toBe(0);
  });

  it('arguments are type-checked', async () => {
    const t = newLua();
    expect(await errorOf(t.eval('return kumo.file_type.from_extension({})'))).toMatch(/to string/i);
    expect(await errorOf(t.eval('return kumo.file_type.from_bytes({})'))).toMatch(/to string/i);
  });
});
