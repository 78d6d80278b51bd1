/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

// Reload (SIGHUP): the old worker closes every WebSocket with 1001, the
// clients reconnect by themselves to the new worker, the old worker is
// gone within seconds, and nothing is logged at alert level.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Nginx, wsServer, waitFor, childrenOf } from './lib/nginx.mjs';
import { io, Manager, FAST, connected, record, post, get, take, closeAll,
         reconnected } from './lib/sio.mjs';

let ngx;
const opened = [];

before(async () => {
    ngx = await Nginx.start({
        // A backlog that holds every client reconnecting at once.
        http: ({ ports }) => wsServer({
            listen: `127.0.0.1:${ports.http} backlog=4096`,
        }),
    });
});

after(async () => {
    closeAll(opened);
    await ngx?.stop();
});

test('clients reconnect to the new worker after a reload', async () => {
    const m = new Manager(ngx.url('/'), FAST);
    opened.push(m);
    const sockets = ['/', '/chat', '/notifications'].map((n) => {
        const s = m.socket(n);
        record(s);
        opened.push(s);
        return s;
    });
    await Promise.all(sockets.map((s) => connected(s)));
    const before = sockets.map((s) => s.id);

    const h1 = await get(ngx.url('/health'));
    assert.equal(h1.json.pid, ngx.workers[0]);

    const back = sockets.map((s) => reconnected(s));
    const { old, fresh } = await ngx.reload();
    await Promise.all(back);

    for (const s of sockets) {
        assert.equal(s.rec.disconnects.length, 1);
        const { reason, details } = s.rec.disconnects[0];
        // A transport close, never a Socket.IO DISCONNECT (after which a
        // client would not come back).
        assert.equal(reason, 'transport close');
        assert.equal(details?.context?.code, 1001,
                     `close code ${details?.context?.code}`);
        assert.equal(s.connected, true);
    }
    assert.notDeepEqual(sockets.map((s) => s.id), before);

    await ngx.waitGone(old, 10000);
    assert.deepEqual(childrenOf(ngx.master), fresh);

    const h2 = await get(ngx.url('/health'));
    assert.equal(h2.json.pid, fresh[0]);
    assert.equal(h2.json.connections, 1, h2.text);
    for (const n of ['/', '/chat', '/notifications']) {
        assert.equal(h2.json.namespaces[n], 1, h2.text);
    }

    // And pushes reach them on the new worker.
    for (const s of sockets) {
        const r = await post(ngx.url('/_ws/push'),
                             { nsp: s.nsp, rooms: [s.id], event: 'after',
                               data: [s.nsp] });
        assert.equal(r.json?.matched, 1, r.text);
        assert.deepEqual(await take(s, 'after'), [s.nsp]);
    }
    closeAll([m, ...sockets]);
    await waitFor(async () => (await get(ngx.url('/health'))).json
                  ?.connections === 0, 5000, 'the clients to be gone');
});

test('ten reloads under 1,000 connected clients', { timeout: 600000 },
     async () => {
    const N = 1000;
    const clients = [];

    // Connect in batches so that the first handshake is not a stampede of
    // 1,000 at once (the reconnections after each reload are).
    for (let i = 0; i < N; i += 100) {
        const batch = [];
        for (let j = i; j < i + 100; j++) {
            const s = io(ngx.url(j % 2 ? '/notifications' : '/'), {
                ...FAST,
                forceNew: true,
                reconnectionDelay: 200,
                reconnectionDelayMax: 2000,
            });
            s.drops = [];
            s.on('disconnect', (reason, details) =>
                s.drops.push({ reason, code: details?.context?.code }));
            clients.push(s);
            opened.push(s);
            batch.push(connected(s, 30000));
        }
        await Promise.all(batch);
    }

    const health = async () => (await get(ngx.url('/health'))).json;
    let h = await health();
    assert.equal(h.connections, N);
    assert.equal(h.namespaces['/'], N / 2);
    assert.equal(h.namespaces['/notifications'], N / 2);

    for (let k = 1; k <= 10; k++) {
        const { old, fresh } = await ngx.reload();

        await waitFor(() => clients.every((s) =>
            s.drops.length >= k && s.connected), 60000,
            `all ${N} clients to reconnect after reload ${k}`, 100);

        for (const s of clients) {
            assert.equal(s.drops.length, k,
                         `reload ${k}: ${JSON.stringify(s.drops)}`);
            const d = s.drops[k - 1];
            assert.equal(d.reason, 'transport close',
                         `reload ${k}: ${JSON.stringify(d)}`);
            assert.equal(d.code, 1001, `reload ${k}: ${JSON.stringify(d)}`);
        }

        await ngx.waitGone(old, 10000);
        assert.deepEqual(childrenOf(ngx.master), fresh);

        h = await waitFor(async () => {
            const x = await health();
            return x?.connections === N ? x : null;
        }, 10000, `the new worker to count ${N} connections`);
        assert.equal(h.pid, fresh[0]);
        assert.equal(h.namespaces['/'], N / 2);
        assert.equal(h.namespaces['/notifications'], N / 2);
        assert.deepEqual(ngx.badLogLines(), []);
    }

    // Every one of them still gets a push.
    let got = 0;
    for (const s of clients) {
        s.on('final', () => { got++; });
    }
    for (const nsp of ['/', '/notifications']) {
        const r = await post(ngx.url('/_ws/push'),
                             { nsp, event: 'final', data: [] });
        assert.equal(r.json?.matched, N / 2, r.text);
    }
    await waitFor(() => got === N, 30000, `the push on all ${N} clients`);

    closeAll(clients);
    await waitFor(async () => (await health())?.connections === 0, 30000,
                  'the clients to be gone');
});
