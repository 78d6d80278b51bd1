/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

// Connection state recovery through a network that goes silent: a TCP
// proxy stops forwarding for 5 s (no FIN, no RST), the server notices by
// its ping timeout, the client by its own.  Within the window the client
// gets what it missed; past the window it gets a fresh socket and the
// disconnect hook has been told.  And a recovery zone too small for what
// is pushed meanwhile drops the oldest packets: a fresh socket, no alert.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { Nginx, waitFor, sleep } from './lib/nginx.mjs';
import { io, connected, post, closeAll } from './lib/sio.mjs';

let ngx;
let app;
let proxy;
const calls = [];
const opened = [];

// Forwards bytes both ways until pause(): then drops them, and holds back
// the closes of either side, until resume().
function startProxy(port) {
    const pairs = new Set();
    let paused = false;
    const server = net.createServer((down) => {
        const up = net.connect(port, '127.0.0.1');
        const pair = { down, up, closed: false };
        pairs.add(pair);
        const forward = (from, to) => {
            from.on('data', (b) => { if (!paused) { to.write(b); } });
            from.on('close', () => {
                pair.closed = true;
                if (!paused) {
                    to.destroy();
                }
            });
            from.on('error', () => {});
        };
        forward(down, up);
        forward(up, down);
    });
    return new Promise((res) => server.listen(0, '127.0.0.1', () => res({
        port: server.address().port,
        pause() { paused = true; },
        resume() {
            paused = false;
            for (const p of pairs) {
                if (p.closed) {
                    p.down.destroy();
                    p.up.destroy();
                    pairs.delete(p);
                }
            }
        },
        close() {
            for (const p of pairs) {
                p.down.destroy();
                p.up.destroy();
            }
            server.close();
        },
    })));
}

before(async () => {
    app = http.createServer((req, res) => {
        let body = '';
        req.on('data', (c) => { body += c; });
        req.on('end', () => {
            calls.push({ ...JSON.parse(body), at: Date.now() });
            res.setHeader('Content-Type', 'application/json');
            res.end('{}');
        });
    });
    await new Promise((r) => app.listen(0, '127.0.0.1', r));

    ngx = await Nginx.start({
        workers: 2,
        http: ({ ports }) => `
    ws_recovery_zone 32k;
    server {
        listen 127.0.0.1:${ports.http};
        ws_ping_interval 1s;
        ws_ping_timeout 1s;
        ws_hook_disconnect /_hook/disconnect;

        location /socket.io/ {
            ws_socketio;
            ws_recovery 30s;
        }

        location /short/ {
            ws_socketio;
            ws_recovery 2s;
        }

        location /_hook/ {
            internal;
            proxy_pass http://127.0.0.1:${app.address().port}/;
        }

        location = /_ws/push {
            ws_push;
        }
    }`,
    });
    proxy = await startProxy(ngx.port);
});

after(async () => {
    closeAll(opened);
    proxy?.close();
    await ngx?.stop();
    app?.close();
});

const push = (body) => post(ngx.url('/_ws/push'), body);

function client(path) {
    const s = io(`http://127.0.0.1:${proxy.port}/`, {
        path, transports: ['websocket'], forceNew: true,
        reconnectionDelay: 200, reconnectionDelayMax: 500,
        // a handshake through the silent proxy gives up quickly
        timeout: 1000,
    });
    s.got = [];
    s.connects = [];
    s.on('n', (n) => s.got.push(n));
    s.on('connect', () => s.connects.push(s.recovered));
    opened.push(s);
    return s;
}

async function silence(ms, during) {
    proxy.pause();
    const end = Date.now() + ms;
    await during();
    await sleep(Math.max(0, end - Date.now()));
    proxy.resume();
}

test('5 s of silence inside the window: recovered with what it missed',
     async () => {
    const s = client('/socket.io/');
    await connected(s);
    const id = s.id;
    await push({ event: 'n', data: [1] });
    await waitFor(() => s.got.length === 1, 5000, 'the first push');

    await silence(5000, async () => {
        // before and after the server gives the socket up (ping timeout)
        for (let n = 2; n <= 4; n++) {
            await sleep(1200);
            await push({ event: 'n', data: [n] });
        }
    });

    await waitFor(() => s.connects.length === 2, 15000, 'the reconnection');
    assert.deepEqual(s.connects, [false, true]);
    assert.equal(s.id, id);
    await push({ event: 'n', data: [5] });
    await waitFor(() => s.got.length >= 5, 5000, 'the pushes');
    assert.deepEqual(s.got, [1, 2, 3, 4, 5]);
    // presence does not blink: the app never heard it left
    assert.deepEqual(calls.filter((c) => c.sid === id), []);
    s.close();
});

test('away longer than the window: a fresh socket', async () => {
    const s = client('/short/');
    await connected(s);
    const id = s.id;
    await push({ event: 'n', data: [1] });
    await waitFor(() => s.got.length === 1, 5000, 'the first push');

    const quiet = Date.now();
    await silence(5000, async () => {
        await push({ event: 'n', data: [2] });
    });

    await waitFor(() => s.connects.length === 2, 15000, 'the reconnection');
    assert.deepEqual(s.connects, [false, false]);
    assert.notEqual(s.id, id);
    // told once the window (2 s after the ping timeout) passed
    const hook = calls.find((c) => c.sid === id);
    assert.equal(hook?.reason, 'ping timeout', JSON.stringify(calls));
    assert.ok(hook.at - quiet >= 3500, `after ${hook.at - quiet} ms`);
    assert.equal(calls.filter((c) => c.sid === id).length, 1);
    s.close();
});

test('a zone too small for what was pushed: a fresh socket, no alert',
     async () => {
    const s = client('/socket.io/');
    const other = client('/socket.io/');
    await Promise.all([connected(s), connected(other)]);
    const id = s.id;
    await push({ event: 'n', data: [0] });
    await waitFor(() => s.got.length === 1, 5000, 'the first push');

    // 64 pushes of 2 KB while it is away: more than 32k holds
    s.io.reconnection(false);
    s.io.engine.close();
    await waitFor(() => !s.connected, 5000, 'the drop');
    await sleep(300);
    for (let n = 1; n <= 64; n++) {
        await push({ event: 'n', data: [n, 'x'.repeat(2048)] });
    }
    s.io.reconnection(true);
    s.connect();
    await waitFor(() => s.connected, 10000, 'the reconnection');
    assert.deepEqual(s.connects, [false, false]);
    assert.notEqual(s.id, id);

    // the zone goes on serving: the other client is recovered
    await waitFor(() => other.got.length === 65, 5000, 'the pushes');
    other.io.engine.close();
    await waitFor(() => other.connects.length === 2, 10000, 'other back');
    assert.deepEqual(other.connects, [false, true]);
    assert.deepEqual(ngx.badLogLines(), []);
});
