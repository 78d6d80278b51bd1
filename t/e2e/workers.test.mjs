/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

// Every worker serves: with worker_processes 4 and a reuseport listener
// the kernel spreads the clients and the pushes over the workers; a push
// answered by any worker reaches the matching clients of all of them,
// once, in the order the host answered the pushes, reloads included.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { Nginx, wsServer, waitFor, sleep, childrenOf } from './lib/nginx.mjs';
import { io, FAST, connected, record, post, get, closeAll }
    from './lib/sio.mjs';

const WORKERS = 4;
const NSP = '/chat';
const started = [];
const opened = [];

after(async () => {
    closeAll(opened);
    for (const n of started) {
        await n.stop();
    }
});

async function start() {
    const n = await Nginx.start({
        workers: WORKERS,
        // reuseport: one listening socket per worker, the kernel picks
        // one for each connection; a backlog that holds every client
        // reconnecting at once.
        http: ({ ports }) => wsServer({
            listen: `127.0.0.1:${ports.http} reuseport backlog=4096`,
        }),
    });
    started.push(n);
    assert.equal(n.workers.length, WORKERS);
    return n;
}

const health = async (n) => (await get(n.url('/health'))).json;

// The host's health once it counts `conns` connections, and `socks`
// sockets in NSP.
function healthWith(n, conns, socks = conns, ms = 15000) {
    return waitFor(async () => {
        const h = await health(n);
        return h?.connections === conns && h.namespaces[NSP] === socks
            ? h : null;
    }, ms, `the host to count ${conns} connections, ${socks} in ${NSP}`);
}

// The workers' pids that own each client's connection, found as the
// kernel sees it: the client's local port is the remote port of an
// established connection to nginx's port, whose inode is open in
// exactly one worker.
function ownersOf(n, sockets) {
    const pidOf = new Map();
    for (const pid of childrenOf(n.master)) {
        for (const fd of readdirSync(`/proc/${pid}/fd`)) {
            let l;
            try {
                l = readlinkSync(`/proc/${pid}/fd/${fd}`);
            } catch {
                continue;
            }
            const m = /^socket:\[(\d+)\]$/.exec(l);
            if (m) {
                pidOf.set(m[1], pid);
            }
        }
    }
    const inodeOf = new Map();
    for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n')) {
        const f = line.trim().split(/\s+/);
        if (f.length < 10 || f[3] !== '01') {   // ESTABLISHED only
            continue;
        }
        const lport = parseInt(f[1].split(':')[1], 16);
        const rport = parseInt(f[2].split(':')[1], 16);
        if (lport === n.port) {
            inodeOf.set(rport, f[9]);
        }
    }
    return sockets.map((s) => {
        const port = s.io.engine?.transport?.ws?._socket?.localPort;
        assert.equal(typeof port, 'number', 'the client\'s local port');
        const pid = pidOf.get(inodeOf.get(port));
        assert.ok(pid, `no worker holds the connection from port ${port}`);
        return pid;
    });
}

// The value of `matched` that each worker would answer, for a selection
// of `selected` sockets: `matched` counts the answering worker's only.
function matchedPerWorker(pids, owners, selected) {
    const count = new Map(pids.map((p) => [p, 0]));
    for (const s of selected) {
        count.set(owners.get(s), count.get(owners.get(s)) + 1);
    }
    return [...count.values()];
}

async function push(url, body, oneOf) {
    const r = await post(url, body);
    assert.equal(r.status, 200, `${JSON.stringify(body)}: ${r.text}`);
    if (oneOf) {
        assert.ok(oneOf.includes(r.json?.matched),
                  `${JSON.stringify(body)}: matched ${r.text}, `
                  + `expected one of ${JSON.stringify(oneOf)}`);
    }
    return r.json;
}

const events = (s) => s.rec.events.map((e) => [e.event, ...e.args]);

test('200 clients over 4 workers: every push, once, in order; join, leave '
     + 'and disconnect reach every worker', { timeout: 120000 }, async () => {
    const ngx = await start();
    const PUSH = ngx.url('/_ws/push');
    const clients = [];

    // Each client its own Manager and connection.
    const open = async (count) => {
        const batch = [];
        for (let i = 0; i < count; i++) {
            const s = io(ngx.url(NSP), { ...FAST, forceNew: true });
            record(s);
            opened.push(s);
            clients.push(s);
            batch.push(connected(s, 30000));
        }
        await Promise.all(batch);
    };
    await open(200);
    let h = await healthWith(ngx, clients.length);
    // The kernel spreads them: if a worker got none, open more (bounded).
    while (h.workers.some((w) => w.connections === 0) && clients.length < 600) {
        await open(50);
        h = await healthWith(ngx, clients.length);
    }
    const pids = [...ngx.workers].sort((a, b) => a - b);
    assert.deepEqual(h.workers.map((w) => w.pid).sort((a, b) => a - b), pids,
                     h.text);
    for (const w of h.workers) {
        assert.ok(w.connections > 0 && w.namespaces[NSP] === w.connections,
                  `worker ${w.pid} holds no client: ${JSON.stringify(h)}`);
    }

    // Who holds whom, as the kernel sees it; it agrees with /health.
    const owners = new Map();
    ownersOf(ngx, clients).forEach((pid, i) => owners.set(clients[i], pid));
    const byWorker = pids.map((p) => clients.filter((s) => owners.get(s) === p));
    for (const w of h.workers) {
        assert.equal(byWorker[pids.indexOf(w.pid)].length, w.namespaces[NSP],
                     `worker ${w.pid}: ${JSON.stringify(h)}`);
    }
    const all = matchedPerWorker(pids, owners, clients);

    // 20 pushes, one after the other, each on a connection of its own:
    // even ones to the whole namespace, odd ones to one socket's own room,
    // the sockets taken from each worker in turn.
    const expected = new Map(clients.map((s) => [s, []]));
    for (let i = 0; i < 20; i++) {
        if (i % 2 === 0) {
            await push(PUSH, { nsp: NSP, event: 'p', data: [i] }, all);
            for (const s of clients) {
                expected.get(s).push(['p', i]);
            }
        } else {
            const k = (i - 1) / 2;
            const group = byWorker[k % WORKERS];
            const s = group[Math.floor(k / WORKERS) % group.length];
            await push(PUSH, { nsp: NSP, rooms: [s.id], event: 'p',
                               data: [i] }, [0, 1]);
            expected.get(s).push(['p', i]);
        }
    }
    await push(PUSH, { nsp: NSP, event: 'end', data: [] }, all);
    await waitFor(() => clients.every((s) =>
        s.rec.events.some((e) => e.event === 'end')), 15000,
        'the "end" push on every client');
    for (const s of clients) {
        expected.get(s).push(['end']);
        assert.deepEqual(events(s), expected.get(s),
                         `client ${s.id} of worker ${owners.get(s)}`);
        assert.deepEqual(s.rec.disconnects, []);
        s.rec.events = [];
    }

    // join: three sockets of each worker join "team".
    const team = byWorker.flatMap((g) => g.slice(0, 3));
    const inTeam = matchedPerWorker(pids, owners, team);
    await push(PUSH, { op: 'join', nsp: NSP, rooms: team.map((s) => s.id),
                       room: 'team' }, inTeam);
    // Whichever worker answers, the join was applied everywhere before.
    await push(PUSH, { nsp: NSP, rooms: ['team'], event: 't', data: [1] },
               inTeam);
    await push(PUSH, { op: 'leave', nsp: NSP, rooms: ['team'],
                       room: 'team' }, inTeam);
    await push(PUSH, { nsp: NSP, rooms: ['team'], event: 't', data: [2] },
               [0]);

    // disconnect: the last socket of each worker.
    const gone = byWorker.map((g) => g[g.length - 1]);
    await push(PUSH, { op: 'disconnect', nsp: NSP,
                       rooms: gone.map((s) => s.id) },
               matchedPerWorker(pids, owners, gone));
    await waitFor(() => gone.every((s) => s.rec.disconnects.length > 0),
                  10000, 'the disconnected clients\' "disconnect"');
    const rest = clients.filter((s) => !gone.includes(s));
    await push(PUSH, { nsp: NSP, event: 'end', data: [] },
               matchedPerWorker(pids, owners, rest));
    await waitFor(() => rest.every((s) =>
        s.rec.events.some((e) => e.event === 'end')), 15000,
        'the second "end" push on every client left');

    for (const s of clients) {
        const want = team.includes(s) ? [['t', 1]] : [];
        if (gone.includes(s)) {
            assert.deepEqual(s.rec.disconnects.map((d) => d.reason),
                             ['io server disconnect']);
            assert.equal(s.active, false);
        } else {
            want.push(['end']);
            assert.deepEqual(s.rec.disconnects, [],
                             `client ${s.id} of worker ${owners.get(s)}`);
        }
        assert.deepEqual(events(s), want,
                         `client ${s.id} of worker ${owners.get(s)}`);
    }

    // Each worker lost exactly its own disconnected socket.
    h = await healthWith(ngx, rest.length, rest.length);
    for (const w of h.workers) {
        assert.equal(w.namespaces[NSP],
                     byWorker[pids.indexOf(w.pid)].length - 1,
                     `worker ${w.pid}: ${JSON.stringify(h)}`);
    }

    closeAll(clients);
    await healthWith(ngx, 0);
    await ngx.stop();
});

test('ten reloads under 1,000 clients over 4 workers, a push every 100 ms: '
     + 'every client gets every push of its connected time, once, in order',
     { timeout: 300000 }, async () => {
    const ngx = await start();
    const PUSH = ngx.url('/_ws/push');
    const N = 1000;
    const SLACK = 200;
    const clients = [];

    // Connect in batches so that the first handshake is not a stampede
    // (the reconnections after each reload are).
    for (let i = 0; i < N; i += 100) {
        const batch = [];
        for (let j = i; j < i + 100; j++) {
            const s = io(ngx.url(NSP), { ...FAST, forceNew: true });
            s.log = { connects: [], disconnects: [], got: [], end: false };
            s.on('connect', () => s.log.connects.push(Date.now()));
            s.on('disconnect', (reason, details) => s.log.disconnects.push({
                t: Date.now(), reason, code: details?.context?.code,
            }));
            s.on('p', (seq) => s.log.got.push(seq));
            s.on('end', () => { s.log.end = true; });
            clients.push(s);
            opened.push(s);
            batch.push(connected(s, 30000));
        }
        await Promise.all(batch);
    }
    const h = await healthWith(ngx, N);
    for (const w of h.workers) {
        assert.ok(w.connections > 0, `worker ${w.pid} holds no client: `
                  + JSON.stringify(h));
    }

    // A push to the whole namespace every 100 ms, each waiting for the
    // answer to the one before: the time each was answered.
    const answered = [];
    let stopping = false;
    const pusher = (async () => {
        for (let seq = 0; !stopping; seq++) {
            const t0 = Date.now();
            const r = await post(PUSH, { nsp: NSP, event: 'p', data: [seq] });
            assert.equal(r.status, 200, `push ${seq}: ${r.text}`);
            answered.push(Date.now());
            await sleep(Math.max(0, 100 - (Date.now() - t0)));
        }
    })();
    // Whatever fails in the pusher fails the test, but only once awaited.
    pusher.catch(() => { stopping = true; });

    try {
        await sleep(500);
        for (let k = 1; k <= 10 && !stopping; k++) {
            const t0 = Date.now();
            const { old } = await ngx.reload();
            await ngx.waitGone(old, 15000);
            await waitFor(() => stopping || clients.every((s) =>
                s.connected && s.log.disconnects.length >= k), 30000,
                `every client back after reload ${k}`, 50);
            await sleep(Math.max(0, 1000 - (Date.now() - t0)));
        }
        await sleep(500);
    } finally {
        stopping = true;
        await pusher;
    }
    assert.ok(answered.length >= 50, `only ${answered.length} pushes`);

    // The last push, to everyone: once it is there, all before it is.
    await push(PUSH, { nsp: NSP, event: 'end', data: [] });
    await waitFor(() => clients.every((s) => s.log.end), 15000,
                  'the "end" push on every client');
    assert.deepEqual(ngx.badLogLines(), []);

    for (const [i, s] of clients.entries()) {
        const { connects, disconnects, got } = s.log;
        const who = `client ${i}`;
        // Every reload closed it (1001); it came back every time.
        assert.ok(disconnects.length >= 10,
                  `${who}: ${disconnects.length} disconnects`);
        for (const d of disconnects) {
            assert.equal(d.reason, 'transport close',
                         `${who}: ${JSON.stringify(d)}`);
            assert.equal(d.code, 1001, `${who}: ${JSON.stringify(d)}`);
        }
        assert.equal(connects.length, disconnects.length + 1,
                     `${who}: ${connects.length} connects, `
                     + `${disconnects.length} disconnects`);

        // None twice, in increasing order.
        for (let j = 1; j < got.length; j++) {
            assert.ok(got[j] > got[j - 1],
                      `${who} got push ${got[j]} after ${got[j - 1]}`);
        }
        // Every push answered while it was connected (SLACK ms from each
        // edge): the last interval lasts until "end".
        const have = new Set(got);
        const missing = [];
        for (let c = 0; c < connects.length; c++) {
            const from = connects[c] + SLACK;
            const to = c < disconnects.length ? disconnects[c].t - SLACK
                : Infinity;
            answered.forEach((t, seq) => {
                if (t >= from && t <= to && !have.has(seq)) {
                    missing.push({ seq, answered: t, connected: connects[c],
                                   disconnected: disconnects[c]?.t });
                }
            });
        }
        assert.deepEqual(missing, [], `${who} missed pushes`);
    }

    closeAll(clients);
    await healthWith(ngx, 0, 0, 30000);
    await ngx.stop();
});
