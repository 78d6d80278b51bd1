/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

// wss:// through an ssl listener, with a certificate made at test time.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Nginx, wsServer, makeCert } from './lib/nginx.mjs';
import { Manager, FAST, connected, once, record, post, get, take, barrier,
         received, closeAll, reconnected } from './lib/sio.mjs';

let ngx;
const opened = [];
const TLS = { ...FAST, rejectUnauthorized: false };

before(async () => {
    let cert;
    ngx = await Nginx.start({
        ports: ['https'],
        prepare: (prefix) => { cert = makeCert(prefix); },
        http: ({ ports }) => wsServer({
            listen: `127.0.0.1:${ports.https} ssl`,
            extra: `ssl_certificate ${cert.crt};
        ssl_certificate_key ${cert.key};`,
        }),
    });
});

after(async () => {
    closeAll(opened);
    await ngx?.stop();
});

test('socket.io-client over wss:// connects, gets pushes and binary',
     async () => {
    const base = ngx.url('/', 'https');
    const PUSH = ngx.url('/_ws/push', 'https');
    const m = new Manager(base, TLS);
    opened.push(m);
    const root = m.socket('/');
    const chat = m.socket('/chat');
    const notif = m.socket('/notifications');
    const nope = m.socket('/nope');
    for (const s of [root, chat, notif, nope]) {
        record(s);
        opened.push(s);
    }
    const refused = once(nope, 'connect_error');
    await Promise.all([root, chat, notif].map((s) => connected(s)));
    assert.equal((await refused)[0].message, 'Invalid namespace');
    assert.equal(m.engine.transport.name, 'websocket');
    assert.ok(m.engine.transport.ws.url.startsWith('wss://'),
              m.engine.transport.ws.url);

    const h = await get(ngx.url('/health', 'https'));
    assert.equal(h.json.connections, 1, h.text);

    let r = await post(PUSH, { nsp: '/notifications', event: 'notification',
                               data: [{ text: 'over TLS' }] });
    assert.equal(r.json?.matched, 1, r.text);
    assert.deepEqual(await take(notif, 'notification'), [{ text: 'over TLS' }]);

    // Rooms and except over TLS as well.
    r = await post(PUSH, { op: 'join', nsp: '/chat', rooms: [chat.id],
                           room: 'tls' });
    assert.equal(r.json?.matched, 1, r.text);
    r = await post(PUSH, { nsp: '/chat', rooms: ['tls'], event: 'room',
                           data: [1] });
    assert.equal(r.json?.matched, 1, r.text);
    r = await post(PUSH, { nsp: '/chat', except: ['tls'], event: 'room',
                           data: [2] });
    assert.equal(r.json?.matched, 0, r.text);
    await barrier(PUSH, [chat]);
    assert.deepEqual(received(chat, 'room'), [[1]]);

    // Binary, small and large enough to span several TLS records.
    const big = Buffer.alloc(100000);
    for (let i = 0; i < big.length; i++) {
        big[i] = (i * 13 + 1) & 0xff;
    }
    r = await post(PUSH, { event: 'bin', data: [
        { $binary: 'AQID' }, { big: { $binary: big.toString('base64') } },
    ] });
    assert.equal(r.json?.matched, 1, r.text);
    const [small, obj] = await take(root, 'bin');
    assert.ok(Buffer.isBuffer(small));
    assert.deepEqual([...small], [1, 2, 3]);
    assert.ok(Buffer.isBuffer(obj.big));
    assert.ok(big.equals(obj.big), 'the 100000-byte attachment differs');

    // A server DISCONNECT over TLS.
    const gone = once(chat, 'disconnect');
    r = await post(PUSH, { op: 'disconnect', nsp: '/chat', rooms: [chat.id] });
    assert.equal(r.json?.matched, 1, r.text);
    assert.equal((await gone)[0], 'io server disconnect');
    assert.equal(notif.connected, true);
    closeAll([m, root, chat, notif, nope]);
});

test('wss:// clients reconnect after a reload', async () => {
    const m = new Manager(ngx.url('/', 'https'), TLS);
    opened.push(m);
    const s = m.socket('/notifications');
    record(s);
    opened.push(s);
    await connected(s);
    const back = reconnected(s);
    const { old } = await ngx.reload();
    await back;
    assert.equal(s.rec.disconnects[0].reason, 'transport close');
    assert.equal(s.rec.disconnects[0].details?.context?.code, 1001);
    await ngx.waitGone(old, 10000);
    const r = await post(ngx.url('/_ws/push', 'https'),
                         { nsp: '/notifications', event: 'n', data: [] });
    assert.equal(r.json?.matched, 1, r.text);
    await take(s, 'n');
    closeAll([m, s]);
});
