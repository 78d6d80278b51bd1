/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

// The push endpoint, seen from socket.io-client: namespaces, rooms,
// except, binary attachments, byte-exact arguments, join/leave/disconnect.

import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { Nginx, wsServer, waitFor } from './lib/nginx.mjs';
import { io, Manager, FAST, connected, once, record, received, post, get,
         barrier, closeAll, closeAndDrain, take, reconnected }
    from './lib/sio.mjs';

let ngx;
let PUSH;
const opened = [];

before(async () => {
    ngx = await Nginx.start({
        http: ({ ports }) => wsServer({ listen: `127.0.0.1:${ports.http}` }),
    });
    PUSH = ngx.url('/_ws/push');
});

afterEach(() => closeAndDrain(opened, ngx.url('/health')));

after(async () => {
    closeAll(opened);
    await ngx?.stop();
});

// A client of its own (its own connection) in namespace `nsp`.
async function client(nsp, opts = {}) {
    const s = io(ngx.url(nsp), { ...FAST, forceNew: true, ...opts });
    record(s);
    opened.push(s);
    await connected(s);
    return s;
}

async function push(body, status = 200) {
    const r = await post(PUSH, body);
    assert.equal(r.status, status,
                 `push ${JSON.stringify(body).slice(0, 200)}: ${r.text}`);
    return r.json;
}

function clear(...sockets) {
    for (const s of sockets) {
        s.rec.events = [];
    }
}

test('a push to a namespace reaches every socket of it, and only those',
     async () => {
    const a = await client('/notifications');
    const b = await client('/notifications');
    const c = await client('/chat');
    const r = await client('/');

    assert.equal((await push({ nsp: '/notifications', event: 'notification',
                               data: [{ id: 7 }] })).matched, 2);
    await barrier(PUSH, [a, b, c, r]);
    assert.deepEqual(received(a, 'notification'), [[{ id: 7 }]]);
    assert.deepEqual(received(b, 'notification'), [[{ id: 7 }]]);
    assert.deepEqual(c.rec.events, []);
    assert.deepEqual(r.rec.events, []);

    // nsp defaults to "/", data to [].
    assert.equal((await push({ event: 'root' })).matched, 1);
    await barrier(PUSH, [a, b, c, r]);
    assert.deepEqual(received(r, 'root'), [[]]);
    assert.deepEqual(a.rec.events.filter((e) => e.event === 'root'), []);

    // Rooms empty or missing: the whole namespace.
    clear(a, b);
    assert.equal((await push({ nsp: '/notifications', rooms: [], except: [],
                               event: 'all', data: ['x', 2] })).matched, 2);
    await barrier(PUSH, [a, b]);
    assert.deepEqual(received(a, 'all'), [['x', 2]]);
    assert.deepEqual(received(b, 'all'), [['x', 2]]);
    closeAll([a, b, c, r]);
});

test('rooms: join, except, one copy per socket, leave', async () => {
    const a = await client('/notifications');
    const b = await client('/notifications');
    const c = await client('/notifications');
    const all = [a, b, c];

    // Every socket is in the room named by its id.
    for (const s of all) {
        assert.equal((await push({ nsp: '/notifications', rooms: [s.id],
                                   event: 'me', data: [s.id] })).matched, 1);
    }
    await barrier(PUSH, all);
    for (const s of all) {
        assert.deepEqual(received(s, 'me'), [[s.id]]);
    }
    clear(...all);

    assert.equal((await push({ op: 'join', nsp: '/notifications',
                               rooms: [a.id, b.id], room: 'team' }))
                 .matched, 2);
    assert.equal((await push({ op: 'join', nsp: '/notifications',
                               rooms: [b.id], room: ['muted', 'user:42'] }))
                 .matched, 1);

    // To a room.
    assert.equal((await push({ nsp: '/notifications', rooms: ['user:42'],
                               event: 'n', data: [1] })).matched, 1);
    // To a room, except another.
    assert.equal((await push({ nsp: '/notifications', rooms: ['team'],
                               except: ['muted'], event: 'n', data: [2] }))
                 .matched, 1);
    // The whole namespace except a room.
    assert.equal((await push({ nsp: '/notifications', except: ['muted'],
                               event: 'n', data: [3] })).matched, 2);
    // A socket in two target rooms gets one copy.
    assert.equal((await push({ nsp: '/notifications',
                               rooms: ['team', 'muted', 'user:42'],
                               event: 'n', data: [4] })).matched, 2);
    // Excepting everyone targeted: nobody.
    assert.equal((await push({ nsp: '/notifications', rooms: ['team'],
                               except: ['team'], event: 'n', data: [5] }))
                 .matched, 0);
    // A room nobody is in.
    assert.equal((await push({ nsp: '/notifications', rooms: ['nobody'],
                               event: 'n', data: [6] })).matched, 0);
    await barrier(PUSH, all);
    assert.deepEqual(received(a, 'n'), [[2], [3], [4]]);
    assert.deepEqual(received(b, 'n'), [[1], [4]]);
    assert.deepEqual(received(c, 'n'), [[3]]);
    clear(...all);

    // Rooms are per namespace: the same room name in /chat is another room.
    const d = await client('/chat');
    assert.equal((await push({ nsp: '/chat', rooms: ['team'], event: 'n',
                               data: [7] })).matched, 0);

    // leave: b leaves team; join selected by except.
    assert.equal((await push({ op: 'leave', nsp: '/notifications',
                               rooms: [b.id], room: 'team' })).matched, 1);
    assert.equal((await push({ op: 'join', nsp: '/notifications',
                               except: ['team'], room: 'late' })).matched, 2);
    assert.equal((await push({ nsp: '/notifications', rooms: ['team'],
                               event: 'n', data: [8] })).matched, 1);
    assert.equal((await push({ nsp: '/notifications', rooms: ['late'],
                               event: 'n', data: [9] })).matched, 2);
    await barrier(PUSH, [...all, d]);
    assert.deepEqual(received(a, 'n'), [[8]]);
    assert.deepEqual(received(b, 'n'), [[9]]);
    assert.deepEqual(received(c, 'n'), [[9]]);
    assert.deepEqual(d.rec.events, []);

    // A socket that disconnects leaves its rooms.
    a.disconnect();
    await waitFor(async () => (await push({
        nsp: '/notifications', rooms: ['team'], event: 'n', data: [10],
    })).matched === 0, 5000, 'the room to be empty after a disconnect');
    closeAll([...all, d]);
});

test('binary arguments arrive as Buffers', async () => {
    const a = await client('/notifications');
    const r = await client('/');

    assert.equal((await push({ nsp: '/notifications', event: 'file',
                               data: [{ $binary: 'AQID' }] })).matched, 1);
    const [buf] = await take(a, 'file');
    assert.ok(Buffer.isBuffer(buf), `got ${typeof buf} ${buf}`);
    assert.deepEqual([...buf], [1, 2, 3]);

    // Nested, several, mixed with plain values, to "/".
    await push({ event: 'files', data: [
        'name',
        { meta: { n: 1 }, blob: { $binary: '/wABAg==' } },
        [{ $binary: 'AA==' }, 5],
    ] });
    const [name, obj, arr] = await take(r, 'files');
    assert.equal(name, 'name');
    assert.deepEqual(obj.meta, { n: 1 });
    assert.ok(Buffer.isBuffer(obj.blob));
    assert.deepEqual([...obj.blob], [0xff, 0, 1, 2]);
    assert.ok(Buffer.isBuffer(arr[0]));
    assert.deepEqual([...arr[0]], [0]);
    assert.equal(arr[1], 5);

    // A larger attachment, byte for byte.
    const big = Buffer.alloc(70000);
    for (let i = 0; i < big.length; i++) {
        big[i] = (i * 7 + 3) & 0xff;
    }
    await push({ nsp: '/notifications', rooms: [a.id], event: 'big',
                 data: [{ $binary: big.toString('base64') }] });
    const [got] = await take(a, 'big');
    assert.ok(Buffer.isBuffer(got));
    assert.ok(big.equals(got), 'the 70000-byte attachment differs');
    closeAll([a, r]);
});

test('arguments go out byte-exact as received', async () => {
    const a = await client('/notifications');
    const r = await client('/');
    const raw = (s) => {
        const frames = [];
        s.io.engine.on('packet', (p) => {
            if (p.type === 'message' && typeof p.data === 'string') {
                frames.push(p.data);
            }
        });
        return frames;
    };
    const fa = raw(a);
    const fr = raw(r);

    // Numbers a JSON library would re-print differently, escapes, UTF-8.
    const args = '{"id":7,"big":12345678901234567890,"f":1.50,"e":1E+2,'
        + '"neg":-0.0,"s":"caf\\u00e9 \\"q\\" \\ud83d\\ude00 ü",'
        + '"nested":{"a":[true,false,null,{}],"o":{}}},3.14159265358979323846,'
        + '"x",[],0';
    const data = `[${args}]`;
    let res = await post(PUSH, `{"nsp":"/notifications","event":"notification",`
                               + `"data":${data}}`);
    assert.equal(res.status, 200, res.text);
    const got = await take(a, 'notification');
    assert.deepEqual(got, JSON.parse(data));
    await waitFor(() => fa.length, 5000, 'the raw packet');
    assert.equal(fa[0], `2/notifications,["notification",${args}]`);

    // The same to "/": no namespace part.
    res = await post(PUSH, `{"event":"ev","data":${data}}`);
    assert.equal(res.status, 200, res.text);
    await take(r, 'ev');
    await waitFor(() => fr.length, 5000, 'the raw packet');
    assert.equal(fr[0], `2["ev",${args}]`);

    // Keys in any order, white space around them.
    res = await post(PUSH, ` {\n "data" : [ 1 , "two" ] ,\t"event" : "ws" ,`
                           + ` "nsp" : "/notifications" } `);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(await take(a, 'ws'), [1, 'two']);
    closeAll([a, r]);
});

test('op disconnect: a Socket.IO DISCONNECT, no reconnection', async () => {
    const m = new Manager(ngx.url('/'), FAST);
    opened.push(m);
    const chat = m.socket('/chat');
    const notif = m.socket('/notifications');
    record(chat);
    record(notif);
    opened.push(chat, notif);
    await Promise.all([connected(chat), connected(notif)]);

    const gone = once(chat, 'disconnect');
    assert.equal((await push({ op: 'disconnect', nsp: '/chat',
                               rooms: [chat.id], close: false })).matched, 1);
    const [reason] = await gone;
    assert.equal(reason, 'io server disconnect');
    assert.equal(chat.active, false);

    // The connection and its other namespace stay.
    assert.equal(notif.connected, true);
    assert.equal((await push({ nsp: '/notifications', event: 'n',
                               data: [] })).matched, 1);
    await take(notif, 'n');

    // It does not reconnect: after a server DISCONNECT socket.io-client
    // leaves the socket inactive, no reconnection scheduled; and the
    // server sends nothing more to it, nor to the other namespace on that
    // connection: a barrier comes with nothing before it.
    assert.equal(chat.connected, false);
    assert.equal(chat.active, false);
    const seen = notif.rec.events.length;
    await barrier(PUSH, [notif]);
    assert.equal(notif.rec.events.length, seen);
    assert.deepEqual(chat.rec.events, []);
    assert.equal(chat.rec.connects, 1);
    assert.equal((await push({ nsp: '/chat', event: 'n', data: [] }))
                 .matched, 0);
    const h = await get(ngx.url('/health'));
    assert.equal(h.json.namespaces['/chat'], 0, h.text);
    assert.equal(notif.rec.disconnects.length, 0);
    closeAll([m, chat, notif]);
});

test('op disconnect with close: every socket of the connection gets its '
     + 'DISCONNECT, then the connection closes (disconnectSockets(true))',
     async () => {
    const m = new Manager(ngx.url('/'), FAST);
    opened.push(m);
    const chat = m.socket('/chat');
    const notif = m.socket('/notifications');
    record(chat);
    record(notif);
    opened.push(chat, notif);
    await Promise.all([connected(chat), connected(notif)]);
    const oldChat = chat.id;
    const oldEngine = m.engine.id;

    const gone = once(chat, 'disconnect');
    const goneNotif = once(notif, 'disconnect');
    assert.equal((await push({ op: 'disconnect', nsp: '/chat',
                               rooms: [chat.id], close: true })).matched, 1);

    // as with socket.io: a server disconnect for both namespaces of that
    // connection, so the client does not reconnect by itself
    assert.equal((await gone)[0], 'io server disconnect');
    assert.equal((await goneNotif)[0], 'io server disconnect');
    await waitFor(() => m.engine?.readyState !== 'open', 5000,
                  'the connection to close');
    assert.equal(chat.active, false);
    assert.equal(notif.active, false);

    chat.connect();
    await connected(chat);
    assert.notEqual(chat.id, oldChat);
    assert.notEqual(m.engine.id, oldEngine);
    assert.equal((await push({ nsp: '/chat', rooms: [chat.id], event: 'again',
                               data: ['ok'] })).matched, 1);
    assert.deepEqual(await take(chat, 'again'), ['ok']);
    closeAll([m, chat, notif]);
});


test('bad pushes are refused with a reason', async () => {
    const cases = [
        ['{"event":', 400],
        ['[]', 400],
        ['{"nsp":"/notifications"}', 400],
        ['{"event":7}', 400],
        ['{"event":"connect"}', 400],
        ['{"event":"disconnect"}', 400],
        ['{"event":"e","data":{"a":1}}', 400],
        ['{"event":"e","rooms":{"r":1}}', 400],
        ['{"event":"e","rooms":[1]}', 400],
        ['{"event":"e","except":7}', 400],
        ['{"event":"e","nsp":7}', 400],
        ['{"op":"join","rooms":["r"]}', 400],
        ['{"op":"disconnect","close":"yes"}', 400],
        ['{"event":"e","nsp":"/nope"}', 400],
        ['{"op":"explode","event":"e"}', 400],
    ];
    for (const [body, status] of cases) {
        const r = await post(PUSH, body);
        assert.equal(r.status, status, `${body} -> ${r.status} ${r.text}`);
        assert.equal(typeof r.json?.error, 'string', `${body} -> ${r.text}`);
    }
    const t = await post(PUSH, '{"event":"e"}',
                         { 'Content-Type': 'text/plain' });
    assert.equal(t.status, 415);
    const g = await get(PUSH);
    assert.equal(g.status, 405);
});
