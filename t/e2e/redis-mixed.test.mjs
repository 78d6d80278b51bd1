/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

// A mixed cluster, as during a migration from Node: a socket.io server
// with @socket.io/redis-adapter and an nginx host (2 workers) in one
// Redis.  Broadcasts cross both ways, once; room changes made on either
// side apply on the other; the Node side's serverSideEmit with an ack and
// its broadcasts with acks come back without waiting for a timeout (nginx
// acknowledges with no argument and reports no client acks of its own).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { Server } from 'socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { Nginx, wsServer, waitFor, freePort } from './lib/nginx.mjs';
import { startRedis } from './lib/redis.mjs';
import { io, connected, record, received, post, closeAll } from
    './lib/sio.mjs';

let redis;
let redisPort;
let host;
let node;
let nodeUrl;
let nodeHttp;
const redisClients = [];
const opened = [];

before(async () => {
    redis = await startRedis();
    redisPort = redis.port;
    const url = redis.url;

    host = await Nginx.start({
        workers: 2,
        http: ({ ports }) => `
    ws_redis 127.0.0.1:${redisPort};
    ${wsServer({ listen: `127.0.0.1:${ports.http} reuseport` })}`,
    });
    await waitFor(async () => {
        const h = await (await fetch(host.url('/health'))).json();
        return h.redis?.state === 'up';
    }, 10000, 'nginx to subscribe');

    const pub = createClient({ url });
    const sub = pub.duplicate();
    await Promise.all([pub.connect(), sub.connect()]);
    redisClients.push(pub, sub);

    nodeHttp = createServer();
    node = new Server(nodeHttp, { adapter: createAdapter(pub, sub) });
    node.of('/chat');
    const port = await freePort();
    await new Promise((res) => nodeHttp.listen(port, '127.0.0.1', res));
    nodeUrl = `http://127.0.0.1:${port}`;

    // both sides see each other: the adapter counts the nginx host
    await waitFor(async () => (await node.of('/chat').adapter.serverCount())
                              === 2, 5000, 'two servers in /chat');
});

after(async () => {
    closeAll(opened);
    node?.close();
    for (const c of redisClients) {
        await c.quit().catch(() => {});
    }
    await host?.stop();
    redis?.stop();
});

function client(url) {
    const s = io(url, { forceNew: true });
    record(s);
    opened.push(s);
    return s;
}

test('broadcasts cross both ways, once, with rooms, except and binary',
     async () => {
    const a = client(host.url('/chat'));
    const n = client(`${nodeUrl}/chat`);
    await connected(a);
    await connected(n);

    node.of('/chat').emit('from-node', 1, 'é', { k: [true, null] });
    node.of('/chat').except(n.id).emit('not-n', 2);
    node.of('/chat').to(a.id).emit('bin', Buffer.from([1, 2, 3]));
    let r = await post(host.url('/_ws/push'),
                       { nsp: '/chat', event: 'from-nginx', data: [3.5] });
    assert.equal(r.status, 200, r.text);
    r = await post(host.url('/_ws/push'), { nsp: '/chat', rooms: [n.id],
                                            event: 'to-n', data: ['x'] });
    assert.equal(r.status, 200, r.text);
    node.of('/chat').emit('end');

    for (const s of [a, n]) {
        await waitFor(() => received(s, 'end').length === 1, 5000, 'end');
        assert.deepEqual(received(s, 'from-node'),
                         [[1, 'é', { k: [true, null] }]]);
        assert.deepEqual(received(s, 'from-nginx'), [[3.5]]);
    }
    assert.deepEqual(received(a, 'not-n'), [[2]]);
    assert.deepEqual(received(n, 'not-n'), []);
    assert.deepEqual(received(a, 'bin').map((args) => [...args[0]]),
                     [[1, 2, 3]]);
    assert.deepEqual(received(n, 'to-n'), [['x']]);
    assert.deepEqual(received(a, 'to-n'), []);
});

test('room changes made on either side apply on the other', async () => {
    const a = client(host.url('/chat'));
    const n = client(`${nodeUrl}/chat`);
    await connected(a);
    await connected(n);

    // Node puts the nginx client in a room; nginx puts the Node client in one
    node.of('/chat').in(a.id).socketsJoin('from-node');
    const r = await post(host.url('/_ws/push'),
                         { op: 'join', nsp: '/chat', rooms: [n.id],
                           room: 'from-nginx' });
    assert.equal(r.status, 200, r.text);

    // the Node server's own rooms (its fetchSockets() would ask nginx too)
    await waitFor(() => node.of('/chat').adapter.rooms.get('from-nginx')
                             ?.has(n.id), 5000,
                  'the Node client to join from-nginx');

    await post(host.url('/_ws/push'), { nsp: '/chat', rooms: ['from-node'],
                                        event: 'r1' });
    node.of('/chat').to('from-nginx').emit('r2');
    node.of('/chat').emit('end2');
    for (const s of [a, n]) {
        await waitFor(() => received(s, 'end2').length === 1, 5000, 'end2');
    }
    await waitFor(() => received(a, 'r1').length === 1, 5000, 'r1');
    assert.deepEqual(received(n, 'r1'), []);
    assert.equal(received(n, 'r2').length, 1);
    assert.deepEqual(received(a, 'r2'), []);
});

test('serverSideEmit with an ack and broadcasts with acks do not wait for '
     + 'a timeout', async () => {
    const a = client(host.url('/chat'));
    const n = client(`${nodeUrl}/chat`);
    n.on('ack-me', (x, cb) => cb(`n:${x}`));
    await connected(a);
    await connected(n);

    let t0 = Date.now();
    const replies = await node.of('/chat').serverSideEmitWithAck('hello', 1);
    assert.ok(Date.now() - t0 < 2000, `${Date.now() - t0} ms`);
    assert.equal(replies.length, 1);

    t0 = Date.now();
    // (the clients of the earlier tests would not answer: not asked)
    const acks = await node.of('/chat').to([n.id, a.id]).timeout(3000)
        .emitWithAck('ack-me', 7);
    assert.ok(Date.now() - t0 < 2000, `${Date.now() - t0} ms`);
    assert.deepEqual(acks, ['n:7']);

    // the nginx client got the event too, with no ack asked of it
    await waitFor(() => received(a, 'ack-me').length === 1, 5000,
                  'the broadcast on nginx');
    assert.deepEqual(received(a, 'ack-me'), [[7]]);
});


test('fetchSockets() and allRooms() count the sockets of every nginx worker',
     async () => {
    // reuseport spreads the connections: both workers hold some
    const mine = [];
    for (let i = 0; i < 6; i++) {
        mine.push(client(host.url('/chat')));
    }
    await Promise.all(mine.map((s) => connected(s)));
    for (let i = 0; ; i++) {
        const h = await (await fetch(host.url('/health'))).json();
        if (h.workers.every((w) => w.namespaces['/chat'] > 0)) {
            break;
        }
        assert.ok(i < 20, 'no client landed on one of the workers');
        const s = client(host.url('/chat'));
        await connected(s);
        mine.push(s);
    }
    const r = await post(host.url('/_ws/push'),
                         { op: 'join', nsp: '/chat', rooms: [mine[0].id],
                           room: ['fetch-me', 'ü'] });
    assert.equal(r.status, 200, r.text);

    let t0 = Date.now();
    const sockets = await node.of('/chat').fetchSockets();
    assert.ok(Date.now() - t0 < 2000, `fetchSockets: ${Date.now() - t0} ms`);
    const ids = new Set(sockets.map((s) => s.id));
    for (const s of mine) {
        assert.ok(ids.has(s.id), `${s.id} fetched`);
    }
    const first = sockets.find((s) => s.id === mine[0].id);
    assert.deepEqual([...first.rooms].sort(),
                     [mine[0].id, 'fetch-me', 'ü'].sort());
    assert.deepEqual(first.data, {});

    const inRoom = await node.of('/chat').in('fetch-me').fetchSockets();
    assert.deepEqual(inRoom.map((s) => s.id), [mine[0].id]);

    t0 = Date.now();
    const rooms = await node.of('/chat').adapter.allRooms();
    assert.ok(Date.now() - t0 < 2000, `allRooms: ${Date.now() - t0} ms`);
    assert.ok(rooms.has('fetch-me') && rooms.has('ü') && rooms.has(mine[1].id));
});

