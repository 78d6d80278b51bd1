/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

// Namespaces: /, /chat and /notifications over one Engine.IO connection;
// any other namespace is refused with connect_error "Invalid namespace".

import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { Nginx, wsServer, waitFor } from './lib/nginx.mjs';
import { Manager, io, FAST, connected, once, record, get, post, take,
         barrier, closeAll, closeAndDrain }
    from './lib/sio.mjs';

let ngx;
const opened = [];

before(async () => {
    ngx = await Nginx.start({
        http: ({ ports }) => wsServer({ listen: `127.0.0.1:${ports.http}` }),
    });
});

afterEach(() => closeAndDrain(opened, ngx.url('/health')));

after(async () => {
    closeAll(opened);
    await ngx?.stop();
});

test('/, /chat and /notifications share one connection', async () => {
    const manager = new Manager(ngx.url('/'), { ...FAST, autoConnect: true });
    opened.push(manager);
    const root = manager.socket('/');
    const chat = manager.socket('/chat');
    const notif = manager.socket('/notifications');
    for (const s of [root, chat, notif]) {
        record(s);
        opened.push(s);
    }
    await Promise.all([root, chat, notif].map((s) => connected(s)));

    // Each namespace socket has its own Socket.IO id, all on one engine.
    const ids = [root.id, chat.id, notif.id];
    for (const id of ids) {
        assert.match(id, /^[A-Za-z0-9_-]{20}$/);
    }
    assert.equal(new Set(ids).size, 3);
    assert.match(manager.engine.id, /^[A-Za-z0-9_-]{20}$/);
    assert.equal(manager.engine.transport.name, 'websocket');

    const h = await get(ngx.url('/health'));
    assert.equal(h.status, 200);
    assert.equal(h.json.status, 'ok');
    assert.equal(h.json.connections, 1, h.text);
    assert.equal(h.json.namespaces['/'], 1, h.text);
    assert.equal(h.json.namespaces['/chat'], 1, h.text);
    assert.equal(h.json.namespaces['/notifications'], 1, h.text);

    // A push to each namespace reaches only that namespace's socket.
    for (const [nsp, s] of [['/', root], ['/chat', chat],
                            ['/notifications', notif]]) {
        const got = once(s, 'hello');
        const r = await post(ngx.url('/_ws/push'),
                             { nsp, event: 'hello', data: [nsp] });
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(r.json, { matched: 1 });
        assert.deepEqual(await got, [nsp]);
    }
    // Nothing else came to any of them, up to a barrier.
    await barrier(ngx.url('/_ws/push'), [root, chat, notif]);
    for (const s of [root, chat, notif]) {
        assert.equal(s.rec.events.length, 1,
                     `${s.nsp} got ${JSON.stringify(s.rec.events)}`);
    }

    // Leaving one namespace keeps the others (and the connection).
    chat.disconnect();
    const r = await post(ngx.url('/_ws/push'),
                         { nsp: '/notifications', event: 'still', data: [] });
    assert.deepEqual(r.json, { matched: 1 });
    await take(notif, 'still');
    // The client's DISCONNECT travels on the WebSocket, the health request
    // on another connection: wait for the server to have read it.
    const h2 = await waitFor(async () => {
        const x = await get(ngx.url('/health'));
        return x.json?.namespaces?.['/chat'] === 0 ? x : null;
    }, 5000, '/chat to count 0 sockets');
    assert.equal(h2.json.connections, 1, h2.text);
    assert.equal(h2.json.namespaces['/notifications'], 1, h2.text);
    assert.equal(root.connected, true);
});

test('an unknown namespace gets connect_error "Invalid namespace"',
     async () => {
    const manager = new Manager(ngx.url('/'), FAST);
    opened.push(manager);
    const chat = manager.socket('/chat');
    const nope = manager.socket('/nope');
    opened.push(chat, nope);
    const refused = once(nope, 'connect_error');
    await connected(chat);
    const [err] = await refused;
    assert.equal(err.message, 'Invalid namespace');
    assert.equal(nope.connected, false);
    // The refusal does not cost the connection its other namespaces.
    assert.equal(chat.connected, true);
    const got = once(chat, 'after');
    const r = await post(ngx.url('/_ws/push'),
                         { nsp: '/chat', rooms: [chat.id], event: 'after',
                           data: [1] });
    assert.deepEqual(r.json, { matched: 1 });
    assert.deepEqual(await got, [1]);

    // The same through io() with a namespace in the URL.
    const s = io(ngx.url('/nope'), { ...FAST, forceNew: true });
    opened.push(s);
    const [err2] = await once(s, 'connect_error');
    assert.equal(err2.message, 'Invalid namespace');
});

test('io() to each namespace URL connects', async () => {
    for (const nsp of ['/', '/chat', '/notifications']) {
        const s = io(ngx.url(nsp), { ...FAST, forceNew: true });
        opened.push(s);
        await connected(s);
        assert.equal(s.nsp, nsp);
        s.disconnect();
    }
});

test('an auth payload over 8 KB gets connect_error, a 4 KB one connects',
     async () => {
    const big = io(ngx.url('/chat'),
                   { ...FAST, auth: { token: 'x'.repeat(9000) } });
    const fine = io(ngx.url('/chat'),
                    { ...FAST, auth: { token: 'x'.repeat(4000) } });
    opened.push(big, fine);
    const refused = once(big, 'connect_error');
    await connected(fine);
    const [err] = await refused;
    assert.equal(err.message, 'Auth payload too large');
    assert.equal(big.connected, false);
    assert.equal(fine.connected, true);
});
