import { describe, expect, it } from 'vitest';
import { withMessage, bytes, text } from './lua-fixture.ts';
import { errorOf, newLua } from '../helpers/lua.ts';
import { VirtualClock } from '../../src/util/clock.ts';

const NOW = Date.UTC(2026, 0, 1, 12);

function fixture(data: string) {
  return withMessage({ data: bytes(data) }, newLua({ clock: new VirtualClock(NOW) }));
}

describe('msg:set_scheduling', () => {
  it('a window without tz, start and end raises naming them; an unknown field raises', async () => {
    const f = fixture('Subject: x\r\n\r\nbody\r\n');
    expect(await errorOf(f.eval(`the_msg():set_scheduling { dow = 'Mon' }`))).toMatch(/missing tz, start, end/);
    expect(await errorOf(f.eval(`the_msg():set_scheduling { foo = 1 }`))).toMatch(/invalid field name foo/);
    expect(f.msg.scheduling).toBeNull();
  });

  it('a future first_attempt returns a table and the due time is not earlier', async () => {
    const f = fixture('Subject: x\r\n\r\nbody\r\n');
    const r = await f.eval(`local s = the_msg():set_scheduling { first_attempt = '2026-01-02T00:00:00Z' }; return { type(s), s.first_attempt }`);
    expect(r).toEqual(['table', '2026-01-02T00:00:00Z']);
    expect(f.msg.due).toBeGreaterThanOrEqual(Date.UTC(2026, 0, 2));
  });
});

describe('msg:import_scheduling_header', () => {
  const WINDOW = '{"first_attempt":"2026-01-03T00:00:00Z","dow":"Mon,Tue,Wed,Thu,Fri","tz":"UTC","start":"08:30:00","end":"18:00:00"}';

  it('without the header returns the null sentinel and changes nothing', async () => {
    const mail = 'Subject: x\r\n\r\nbody\r\n';
    const f = fixture(mail);
    expect(await f.eval(`local s = the_msg():import_scheduling_header('X-S', true); return { type(s), s == nil }`)).toEqual(['userdata', false]);
    expect(text(f.msg.getData())).toBe(mail);
    expect(f.msg.scheduling).toBeNull();
    expect(f.msg.due).toBeNull();
  });

  it('applies the JSON like set_scheduling and with remove drops every copy of the header', async () => {
    const f = fixture(`X-S: ${WINDOW}\r\nSubject: x\r\nx-s: {"expires":"2027-01-01T00:00:00Z"}\r\n\r\nbody\r\n`);
    const r = await f.eval(`local s = the_msg():import_scheduling_header('X-S', true); return { s.first_attempt, s.dow, s.tz, type(s.expires) }`);
    expect(r).toEqual(['2026-01-03T00:00:00Z', 'Mon,Tue,Wed,Thu,Fri', 'UTC', 'userdata']);
    const g = fixture('X-S: {"dow":"sunday,MONDAY","tz":"UTC","start":"8:30","end":"18:00:30"}\r\n\r\nbody\r\n');
    expect(await g.eval(`local s = the_msg():import_scheduling_header('X-S', false); return { s.dow, s.start, s['end'] }`)).toEqual(['Mon,Sun', '08:30:00', '18:00:30']);
    expect(text(f.msg.getData())).toBe('Subject: x\r\n\r\nbody\r\n');
    expect(f.msg.scheduling).toMatchObject({ first_attempt: '2026-01-03T00:00:00Z', tz: 'UTC' });
    // 2026-01-03 is a Saturday: the window opens Monday at 08:30.
    expect(new Date(f.msg.due!).toISOString()).toBe('2026-01-05T08:30:00.000Z');
  });

  it('without remove the header stays', async () => {
    const mail = `X-S: ${WINDOW}\r\n\r\nbody\r\n`;
    const f = fixture(mail);
    await f.eval(`the_msg():import_scheduling_header('x-s', false)`);
    expect(text(f.msg.getData())).toBe(mail);
    expect(f.msg.scheduling).not.toBeNull();
  });

  it('bad JSON or a bad table raises naming the header and changes nothing', async () => {
    const mail = 'X-S: {nope\r\n\r\nbody\r\n';
    const f = fixture(mail);
    expect(await errorOf(f.eval(`the_msg():import_scheduling_header('X-S', true)`))).toMatch(/header X-S is not valid JSON/);
    expect(text(f.msg.getData())).toBe(mail);
    const g = fixture('X-S: {"dow":"Mon"}\r\n\r\nbody\r\n');
    expect(await errorOf(g.eval(`the_msg():import_scheduling_header('X-S', true)`))).toMatch(/header X-S: .*missing tz, start, end/);
    expect(g.msg.scheduling).toBeNull();
    expect(await errorOf(g.eval(`the_msg():import_scheduling_header('X-S')`))).toMatch(/boolean/);
  });
});
