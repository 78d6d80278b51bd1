/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

// Connection state recovery with the app hooks: a recovered socket keeps
// the data the connect hook gave it; with skip_hooks the connect hook is
// not asked again, without it the hook is asked again about the same
// socket id (its auth holds the client's pid and offset).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Nginx, waitFor } from './lib/nginx.mjs';
import { io, FAST, connected, post, closeAll } from './lib/sio.mjs';

let ngx;
let app;
const calls = [];
const opened = [];

before(async () => {
    // the application: records every hook call; the connect hook numbers
    // the sockets it lets in, the event hook acks with the socket's data
    let admitted = 0;
    app = http.createServer((req, res) => {
        let body = '';
        req.on('data', (c) => { body += c; });
        req.on('end', () => {
            const call = { ...JSON.parse(body), at: Date.now() };
            calls.push(call);
            let answer = {};
            if (call.type === 'connect') {
                answer = { data: { admitted: ++admitted } };
            } else if (call.type === 'event') {
                answer = { ack: [[call.sid, call.data]] };
            }
            res.setHeader('Content-Type', 'application/json');
            res.end(JSON.stringify(answer));
        });
    });
    await new Promise((r) => app.listen(0, '127.0.0.1', r));

    const hooks = `
            ws_hook_connect /_hook/connect;
            ws_hook_event /_hook/event;
            ws_hook_disconnect /_hook/disconnect;`;

    ngx = await Nginx.start({
        workers: 2,
        http: ({ ports }) => `
    ws_recovery_zone 1m;
    server {
        listen 127.0.0.1:${ports.http};

        # ws_recovery with no ws_socketio: harmless
        location /nosio/ {
            ws_recovery 1m;
        }

        location /socket.io/ {
            ws_socketio;
            ws_recovery 2m skip_hooks;${hooks}
        }

        location /again/ {
            ws_socketio;
            ws_recovery 2m;${hooks}
        }

        location /short/ {
            ws_socketio;
            ws_recovery 1s;${hooks}
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
});

after(async () => {
    closeAll(opened);
    await ngx?.stop();
    app?.close();
});

async function dropAndRecover(s) {
    await post(ngx.url('/_ws/push'), { event: 'n', data: [1] });
    await waitFor(() => s._lastOffset, 5000, 'an offset');
    s.io.engine.close();
    await waitFor(() => !s.connected, 5000, 'the drop');
    await waitFor(() => s.connected, 10000, 'the reconnection');
}

for (const [path, skip] of [['/socket.io', true], ['/again', false]]) {
    test(`recovered socket keeps its data, ${path} (skip_hooks ${skip})`,
         async () => {
        calls.length = 0;
        const s = io(ngx.url('/'), { ...FAST, path: `${path}/`,
                                     forceNew: true });
        opened.push(s);
        await connected(s);
        const id = s.id;
        const [sid1, data1] = await s.emitWithAck('who');
        assert.equal(sid1, id);

        await dropAndRecover(s);
        assert.equal(s.recovered, true);
        assert.equal(s.id, id);

        const [sid2, data2] = await s.emitWithAck('who');
        assert.equal(sid2, id);

        // presence does not blink: no disconnect call for the drop
        assert.deepEqual(calls.filter((c) => c.type === 'disconnect'), []);

        const connects = calls.filter((c) => c.type === 'connect');
        if (skip) {
            // not asked again: the data it gave comes back
            assert.equal(connects.length, 1);
            assert.deepEqual(data2, data1);
        } else {
            // asked again about the same socket: its answer is the data
            assert.equal(connects.length, 2);
            assert.equal(connects[1].sid, id);
            assert.equal(connects[1].auth.pid, s._pid);
            assert.equal(typeof connects[1].auth.offset, 'string');
            assert.deepEqual(data2, { admitted: data1.admitted + 1 });
        }
        s.close();
        await waitFor(() => calls.some((c) => c.type === 'disconnect'
            && c.reason === 'client namespace disconnect'), 5000,
            'the disconnect hook');
    });
}

test('the disconnect hook, deferred, comes from the new workers after a '
     + 'reload', async () => {
    calls.length = 0;
    const s = io(ngx.url('/'), { ...FAST, path: '/short/', forceNew: true });
    opened.push(s);
    await connected(s);
    const id = s.id;
    await post(ngx.url('/_ws/push'), { event: 'n', data: [1] });
    await waitFor(() => s._lastOffset, 5000, 'an offset');

    // the client does not come back: its window passes
    s.io.reconnection(false);
    const { old } = await ngx.reload();
    await waitFor(() => !s.connected, 5000, 'the drop');
    await ngx.waitGone(old, 10000);
    const gone = Date.now();

    const hook = await waitFor(() => calls.find((c) =>
        c.type === 'disconnect' && c.sid === id), 10000,
        'the deferred disconnect hook');
    assert.equal(hook.reason, 'server shutting down');
    assert.equal(hook.nsp, '/');
    assert.deepEqual(hook.rooms, [id]);
    assert.deepEqual(hook.data, { admitted: hook.data.admitted });
    assert.ok(hook.at >= gone, 'after the old workers were gone');
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(calls.filter((c) => c.sid === id
                              && c.type === 'disconnect').length, 1);
    assert.deepEqual(ngx.badLogLines(), []);
});
