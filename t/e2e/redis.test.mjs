/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

// Two nginx hosts (2 workers each) and a redis-server of the test's own:
// a push answered by either host reaches the clients of both, once; the
// stock @socket.io/redis-emitter reaches them as it reaches socket.io
// servers (namespace, room, except, binary, socketsJoin / socketsLeave /
// disconnectSockets); with Redis gone each host keeps serving its own
// clients, and the hosts find each other again when it is back.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from 'redis';
import { Emitter } from '@socket.io/redis-emitter';
import { Nginx, wsServer, waitFor, sleep } from './lib/nginx.mjs';
import { startRedis } from './lib/redis.mjs';
import { io, connected, record, received, post, closeAll } from
    './lib/sio.mjs';

let redis;
let redisPort;
let hosts;
const opened = [];

async function health(h) {
    const r = await fetch(h.url('/health'));
    return r.json();
}

before(async () => {
    redis = await startRedis();
    redisPort = redis.port;

    hosts = [];
    for (let i = 0; i < 2; i++) {
        hosts.push(await Nginx.start({
            workers: 2,
            http: ({ ports }) => `
    ws_redis 127.0.0.1:${redisPort};
    ${wsServer({ listen: `127.0.0.1:${ports.http}` })}`,
        }));
    }

    for (const h of hosts) {
        await waitFor(async () => (await health(h)).redis?.state === 'up',
                      10000, 'the host to subscribe');
    }
});

after(async () => {
    closeAll(opened);
    for (const h of hosts || []) {
        await h.stop();
    }
    redis?.stop();
});

function client(host, nsp = '/chat') {
    const s = io(host.url(nsp), { forceNew: true, transports: ['websocket'] });
    record(s);
    opened.push(s);
    return s;
}

async function push(host, body) {
    const r = await post(host.url('/_ws/push'), body);
    assert.equal(r.status, 200, r.text);
    return r.json;
}

test('a push answered by either host reaches the clients of both, once',
     async () => {
    const a = client(hosts[0]);
    const b = client(hosts[1]);
    await connected(a);
    await connected(b);

    await push(hosts[0], { nsp: '/chat', event: 'from', data: ['A', 1] });
    await push(hosts[1], { nsp: '/chat', event: 'from', data: ['B', 2] });
    // a marker from each host: what one host accepted reaches the clients
    // in that order; between hosts there is no order (nor with socket.io)
    await push(hosts[0], { nsp: '/chat', event: 'end', data: ['A'] });
    await push(hosts[1], { nsp: '/chat', event: 'end', data: ['B'] });

    for (const s of [a, b]) {
        await waitFor(() => received(s, 'end').length === 2, 5000,
                      'the end pushes');
        const got = received(s, 'from').map((x) => x.join()).sort();
        assert.deepEqual(got, ['A,1', 'B,2']);
    }
});

test('rooms and except cross hosts; joins made on one host count on both',
     async () => {
    const a = client(hosts[0]);
    const b = client(hosts[1]);
    await connected(a);
    await connected(b);

    // each host joins its own socket: the join is a local operation here
    await push(hosts[0], { op: 'join', nsp: '/chat', rooms: [a.id],
                           room: 'r1' });
    await push(hosts[1], { op: 'join', nsp: '/chat', rooms: [b.id],
                           room: ['r1', 'r2'] });

    await push(hosts[0], { nsp: '/chat', rooms: ['r1'], except: ['r2'],
                           event: 'x', data: [1] });
    await push(hosts[1], { nsp: '/chat', rooms: ['r2'], event: 'y',
                           data: [{ $binary: 'AQID' }] });
    await push(hosts[1], { nsp: '/chat', rooms: ['r1'], event: 'end' });

    for (const s of [a, b]) {
        await waitFor(() => received(s, 'end').length === 1, 5000,
                      'the end push');
    }
    assert.deepEqual(received(a, 'x'), [[1]]);
    assert.deepEqual(received(b, 'x'), []);
    assert.deepEqual(received(a, 'y'), []);
    assert.deepEqual(received(b, 'y').map((args) => [...args[0]]),
                     [[1, 2, 3]]);
});

test('@socket.io/redis-emitter reaches the clients of both hosts',
     async () => {
    const rc = createClient({ url: `redis://127.0.0.1:${redisPort}` });
    await rc.connect();
    const emitter = new Emitter(rc);

    const a = client(hosts[0]);
    const b = client(hosts[1]);
    const n = client(hosts[1], '/notifications');
    await connected(a);
    await connected(b);
    await connected(n);

    try {
        emitter.of('/chat').emit('all', 'hello', 1.5, null, true);
        emitter.of('/notifications').emit('note', { id: 7, text: 'hi' });
        emitter.of('/chat').to(a.id).emit('only-a', 'a');
        emitter.of('/chat').except(a.id).emit('not-a', 'b');
        emitter.of('/chat').emit('bin', Buffer.from([1, 2, 3]));

        emitter.of('/chat').in(b.id).socketsJoin('vip');
        await sleep(200);
        emitter.of('/chat').to('vip').emit('vip', 'yes');
        emitter.of('/chat').in(b.id).socketsLeave('vip');
        await sleep(200);
        emitter.of('/chat').to('vip').emit('vip', 'again');
        emitter.of('/chat').emit('end');

        for (const s of [a, b]) {
            await waitFor(() => received(s, 'end').length === 1, 5000,
                          'the end emit');
            assert.deepEqual(received(s, 'all'), [['hello', 1.5, null, true]]);
            assert.deepEqual(received(s, 'bin').map((args) => [...args[0]]),
                             [[1, 2, 3]]);
        }
        await waitFor(() => received(n, 'note').length === 1, 5000,
                      'the note');
        assert.deepEqual(received(n, 'note'), [[{ id: 7, text: 'hi' }]]);
        assert.deepEqual(received(a, 'only-a'), [['a']]);
        assert.deepEqual(received(b, 'only-a'), []);
        assert.deepEqual(received(a, 'not-a'), []);
        assert.deepEqual(received(b, 'not-a'), [['b']]);
        assert.deepEqual(received(b, 'vip'), [['yes']]);
        assert.deepEqual(received(a, 'vip'), []);

        const gone = new Promise((res) => b.on('disconnect', res));
        emitter.of('/chat').in(b.id).disconnectSockets(true);
        assert.equal(await gone, 'io server disconnect');
        assert.equal(a.connected, true);
    } finally {
        await rc.quit();
    }
});

test('Redis away: each host serves its own clients; back within seconds',
     { timeout: 60000 }, async () => {
    const a = client(hosts[0]);
    const b = client(hosts[1]);
    await connected(a);
    await connected(b);

    redis.stop();
    await waitFor(async () => (await health(hosts[0])).redis.state !== 'up',
                  5000, 'host A to see Redis gone');

    await push(hosts[0], { nsp: '/chat', event: 'local', data: [1] });
    await waitFor(() => received(a, 'local').length === 1, 5000,
                  'the local push while Redis is away');
    await sleep(5000);
    assert.deepEqual(received(b, 'local'), []);
    const lost = (await health(hosts[0])).redis.lost;
    assert.ok(lost >= 1, `lost ${lost}`);

    await redis.start();
    const back = Date.now();
    for (const h of hosts) {
        await waitFor(async () => (await health(h)).redis.state === 'up',
                      5000, 'the host to subscribe again');
    }
    assert.ok(Date.now() - back <= 5000);

    await push(hosts[0], { nsp: '/chat', event: 'again', data: [2] });
    await waitFor(() => received(b, 'again').length === 1, 5000,
                  'a cross-host push after Redis came back');
    for (const h of hosts) {
        assert.deepEqual(h.badLogLines(), []);
    }
});
