/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

// The sharded adapter (createShardedAdapter: SSUBSCRIBE and SPUBLISH,
// Redis 7): two nginx hosts with "ws_redis ... sharded" and a Node
// socket.io server with @socket.io/redis-adapter's sharded adapter, on
// one redis-server and on a 3-node Redis Cluster.  Broadcasts cross every
// way once, to rooms through the rooms' own channels (the adapter's
// default "dynamic" mode); room changes apply across; fetchSockets() and
// serverSideEmit with an ack answer at once.  In the cluster, the slot of
// a namespace's channel moves to another node mid-test and broadcasts go
// on: the publisher follows MOVED, the subscribers re-subscribe where the
// slot went.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createClient, createCluster } from 'redis';
import { Server } from 'socket.io';
import { createShardedAdapter } from '@socket.io/redis-adapter';
import { Nginx, wsServer, waitFor, freePort } from './lib/nginx.mjs';
import { io, connected, record, received, post, closeAll } from
    './lib/sio.mjs';
import { startRedis, startCluster, slotOwner, moveSlot } from
    './lib/redis.mjs';

// kind: 'single' or 'cluster'; mode: the adapter's subscriptionMode
function cluster(kind, mode = 'dynamic') {
    const ctx = { opened: [], hosts: [], clients: [] };

    before(async () => {
        let seed;
        if (kind === 'cluster') {
            ctx.redis = await startCluster(3);
            seed = ctx.redis.ports[1];
            const pub = createCluster({ rootNodes: ctx.redis.rootNodes });
            const sub = createCluster({ rootNodes: ctx.redis.rootNodes });
            await Promise.all([pub.connect(), sub.connect()]);
            ctx.clients.push(pub, sub);
        } else {
            ctx.redis = await startRedis();
            seed = ctx.redis.port;
            const pub = createClient({ url: ctx.redis.url });
            const sub = pub.duplicate();
            await Promise.all([pub.connect(), sub.connect()]);
            ctx.clients.push(pub, sub);
        }

        for (let i = 0; i < 2; i++) {
            const host = await Nginx.start({
                workers: 2,
                http: ({ ports }) => `
    ws_redis 127.0.0.1:${seed} sharded=${mode};
    ${wsServer({ listen: `127.0.0.1:${ports.http} reuseport` })}`,
            });
            ctx.hosts.push(host);
        }
        for (const host of ctx.hosts) {
            await waitFor(async () => {
                const h = await (await fetch(host.url('/health'))).json();
                return h.redis?.state === 'up';
            }, 10000, 'nginx to subscribe');
        }

        ctx.http = createServer();
        ctx.node = new Server(ctx.http, {
            adapter: createShardedAdapter(ctx.clients[0], ctx.clients[1],
                                          { subscriptionMode: mode }),
        });
        ctx.node.of('/chat');
        const port = await freePort();
        await new Promise((res) => ctx.http.listen(port, '127.0.0.1', res));
        ctx.nodeUrl = `http://127.0.0.1:${port}`;

        // every member counted once: SHARDNUMSUB of the namespace channel
        await waitFor(async () => (await ctx.node.of('/chat').adapter
                                       .serverCount()) === 3,
                      10000, 'three servers in /chat');
    });

    after(async () => {
        closeAll(ctx.opened);
        ctx.node?.close();
        for (const c of ctx.clients) {
            await c.quit().catch(() => {});
        }
        for (const h of ctx.hosts) {
            await h.stop();
        }
        ctx.redis?.stop();
    });

    ctx.client = (url) => {
        const s = io(url, { forceNew: true });
        record(s);
        ctx.opened.push(s);
        return s;
    };

    // a client on each nginx host and one on Node
    ctx.three = async () => {
        const a = ctx.client(ctx.hosts[0].url('/chat'));
        const b = ctx.client(ctx.hosts[1].url('/chat'));
        const n = ctx.client(`${ctx.nodeUrl}/chat`);
        await Promise.all([a, b, n].map((s) => connected(s)));
        return [a, b, n];
    };

    // what every one of them got, once the marker came after it
    ctx.settle = async (sockets, marker) => {
        ctx.node.of('/chat').emit(marker);
        for (const s of sockets) {
            await waitFor(() => received(s, marker).length === 1, 5000,
                          marker);
        }
    };

    return ctx;
}

async function push(host, body) {
    const r = await post(host.url('/_ws/push'), { nsp: '/chat', ...body });
    assert.equal(r.status, 200, r.text);
}

function behaves(ctx) {
    test('broadcasts cross every way once, with except and binary',
         async () => {
        const [a, b, n] = await ctx.three();
        const [h1, h2] = ctx.hosts;

        ctx.node.of('/chat').emit('from-node', 1, 'é', { k: [true, null] });
        ctx.node.of('/chat').except(n.id).emit('not-n');
        ctx.node.of('/chat').to(a.id).emit('bin', Buffer.from([1, 2, 3]));
        await push(h1, { event: 'from-a', data: [3.5] });
        await push(h2, { event: 'from-b', except: [b.id] });
        await push(h2, { rooms: [n.id], event: 'to-n', data: ['x'] });
        await ctx.settle([a, b, n], 'end1');

        for (const s of [a, b, n]) {
            assert.deepEqual(received(s, 'from-node'),
                             [[1, 'é', { k: [true, null] }]]);
            assert.deepEqual(received(s, 'from-a'), [[3.5]]);
        }
        assert.deepEqual(received(a, 'not-n'), [[]]);
        assert.deepEqual(received(b, 'not-n'), [[]]);
        assert.deepEqual(received(n, 'not-n'), []);
        assert.equal(received(a, 'from-b').length, 1);
        assert.equal(received(n, 'from-b').length, 1);
        assert.deepEqual(received(b, 'from-b'), []);
        assert.deepEqual(received(a, 'bin').map((x) => [...x[0]]),
                         [[1, 2, 3]]);
        assert.deepEqual(received(n, 'to-n'), [['x']]);
        assert.deepEqual(received(a, 'to-n'), []);
    });

    test('a room has a channel of its own; joins apply across',
         async () => {
        const [a, b, n] = await ctx.three();
        const [h1, h2] = ctx.hosts;
        const room = `room-${Date.now()}`;

        // the nginx side joins a; Node puts b in through Redis; Node's own
        await push(h1, { op: 'join', rooms: [a.id], room });
        ctx.node.of('/chat').in(b.id).socketsJoin(room);
        ctx.node.of('/chat').in(n.id).socketsJoin(room);
        await waitFor(async () => {
            const s = await ctx.node.of('/chat').in(room).fetchSockets();
            return s.length === 3;
        }, 5000, 'three sockets in the room');

        // Node publishes a one-room broadcast on the room's channel only
        ctx.node.of('/chat').to(room).emit('r-node');
        await push(h2, { rooms: [room], event: 'r-b' });
        await push(h1, { rooms: [room], except: [a.id], event: 'r-a' });
        const outsider = ctx.client(ctx.hosts[1].url('/chat'));
        await connected(outsider);
        await ctx.settle([a, b, n, outsider], 'end2');

        for (const s of [a, b, n]) {
            assert.equal(received(s, 'r-node').length, 1);
            assert.equal(received(s, 'r-b').length, 1);
        }
        assert.deepEqual(received(a, 'r-a'), []);
        assert.equal(received(b, 'r-a').length, 1);
        assert.equal(received(n, 'r-a').length, 1);
        assert.deepEqual(received(outsider, 'r-node'), []);
    });

    test('fetchSockets() and serverSideEmit with an ack answer at once',
         async () => {
        const [a, b, n] = await ctx.three();
        const room = `f-${Date.now()}`;
        await push(ctx.hosts[0], { op: 'join', rooms: [a.id], room });

        let t0 = Date.now();
        const sockets = await ctx.node.of('/chat').fetchSockets();
        assert.ok(Date.now() - t0 < 2000, `${Date.now() - t0} ms`);
        const ids = new Set(sockets.map((s) => s.id));
        for (const s of [a, b, n]) {
            assert.ok(ids.has(s.id), `${s.id} fetched`);
        }
        const inRoom = await ctx.node.of('/chat').in(room).fetchSockets();
        assert.deepEqual(inRoom.map((s) => s.id), [a.id]);
        assert.deepEqual([...inRoom[0].rooms].sort(), [a.id, room].sort());

        t0 = Date.now();
        const replies = await ctx.node.of('/chat')
            .serverSideEmitWithAck('hello', 1);
        assert.ok(Date.now() - t0 < 2000, `${Date.now() - t0} ms`);
        assert.equal(replies.length, 2);
    });
}

describe('sharded adapter, one redis-server', () => {
    const ctx = cluster('single');
    behaves(ctx);
});

describe('sharded adapter, static subscriptions, one redis-server', () => {
    const ctx = cluster('single', 'static');
    behaves(ctx);
});

describe('sharded adapter, a 3-node Redis Cluster', () => {
    const ctx = cluster('cluster');
    behaves(ctx);

    test('the slot of the namespace channel moves: MOVED followed, '
         + 'subscriptions follow', async () => {
        const [h1, h2] = ctx.hosts;
        const a = ctx.client(h1.url('/chat'));
        const b = ctx.client(h2.url('/chat'));
        await Promise.all([a, b].map((s) => connected(s)));

        const ports = ctx.redis.ports;
        const owner = slotOwner(ports, 'socket.io#/chat#');
        const to = ports.find((p) => p !== owner.port);
        moveSlot(ports, owner.slot, owner.port, to);

        // what is published before the subscribers have moved is lost,
        // as with any Redis pub/sub: flowing again within seconds
        const flowing = async (tag) => {
            let i = 0;
            await waitFor(async () => {
                await push(h1, { event: `probe-a-${tag}`, data: [i] });
                await push(h2, { event: `probe-b-${tag}`, data: [i++] });
                return received(b, `probe-a-${tag}`).length > 0
                       && received(a, `probe-b-${tag}`).length > 0;
            }, 5000, 'broadcasts to flow after the move', 100);
        };
        await flowing(1);

        // then the publishers follow MOVED: nothing lost, nothing twice
        for (let i = 0; i < 20; i++) {
            await push(h1, { event: 'after-a', data: [i] });
            await push(h2, { event: 'after-b', data: [i] });
        }
        await waitFor(() => received(b, 'after-a').length === 20
                            && received(a, 'after-b').length === 20,
                      10000, 'every broadcast after the move').catch((e) => {
            e.message += `: a got ${received(a, 'after-b').length}, `
                         + `b got ${received(b, 'after-a').length}`;
            throw e;
        });
        await ctx.settle([a, b], 'end4');
        assert.deepEqual(received(b, 'after-a').map((x) => x[0]),
                         [...Array(20).keys()]);
        assert.deepEqual(received(a, 'after-b').map((x) => x[0]),
                         [...Array(20).keys()]);
        for (const h of ctx.hosts) {
            const health = await (await fetch(h.url('/health'))).json();
            assert.equal(health.redis.state, 'up');
        }

        // and back where it was (the Node side's client unsubscribes there
        // when it closes)
        moveSlot(ports, owner.slot, to, owner.port);
        await flowing(2);
    });
}, { concurrency: 1 });
