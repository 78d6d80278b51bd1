/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

// The app hooks seen from socket.io-client, with the application written
// as Next.js route handlers (lib/app.mjs): the session cookie decides the
// connect, events reach the app in order and come back as acks and
// pushes, socket data goes from hook to hook, the disconnect hook says
// why, failures close the connection (connect) or drop the event (event),
// and ws_relay re-emits without a call.

import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Nginx, waitFor, freePort } from './lib/nginx.mjs';
import { io, FAST, connected, once, record, received, barrier, closeAll,
         closeAndDrain, take } from './lib/sio.mjs';
import { App, online } from './lib/app.mjs';

let ngx;
let app;
let PUSH;
const opened = [];

const ADA = 'a=1; session=s-ada';
const BOB = 'session=s-bob';

function hooks(extra = '') {
    return `
            ws_socketio;
            ws_namespace /chat;
            ws_hook_connect /_hook/connect;
            ws_hook_event /_hook/event;
            ws_hook_disconnect /_hook/disconnect;
            ws_relay typing;
            ${extra}`;
}

before(async () => {
    app = await App.start();
    ngx = await Nginx.start({
        http: ({ ports }) => `
    server {
        listen 127.0.0.1:${ports.http};

        location /socket.io/ {${hooks()}
        }

        # A heartbeat short enough to see a ping timeout.
        location /quick/ {${hooks(`ws_ping_interval 500ms;
            ws_ping_timeout 500ms;`)}
        }

        location /_hook/ {
            internal;
            proxy_pass http://127.0.0.1:${app.port}/api/ws/;
            proxy_read_timeout 1s;
        }

        location = /_ws/push {
            allow 127.0.0.1;
            deny all;
            ws_push;
        }

        location = /health {
            ws_health;
        }
    }
`,
    });
    PUSH = ngx.url('/_ws/push');
});

afterEach(async () => {
    app.fail = {};
    app.delay = null;
    await closeAndDrain(opened, ngx.url('/health'));
});

after(async () => {
    closeAll(opened);
    await ngx?.stop();
    await app?.stop();
});

// A socket of its own connection in /chat, logged in as `cookie`.
function socket(cookie = ADA, opts = {}) {
    const s = io(ngx.url('/chat'), {
        ...FAST, forceNew: true,
        ...(cookie ? { extraHeaders: { cookie } } : {}),
        ...opts,
    });
    record(s);
    opened.push(s);
    return s;
}

async function client(cookie, opts) {
    return connected(socket(cookie, opts));
}

// Emits with an ack callback; resolves with all of the ack's arguments.
function ack(s, event, ...args) {
    return new Promise((res, rej) => {
        s.timeout(10000).emit(event, ...args,
                             (err, ...got) => (err ? rej(err) : res(got)));
    });
}

// The app's calls of `hook` for socket `sid`, once there are `n`.
function calls(hook, sid, n = 1) {
    return waitFor(() => {
        const c = app.calls(hook, sid);
        return c.length >= n ? c : null;
    }, 10000, `${n} ${hook} call(s) for ${sid}`);
}

async function reasonOf(sid) {
    const [d] = await calls('disconnect', sid);
    return d.reason;
}

test('connect: the session cookie lets a client in; without it, '
     + 'connect_error with the app\'s message and data', async () => {
    const a = await client(ADA, { auth: { token: 't1' } });
    assert.deepEqual(await take(a, 'welcome'), ['ada'],
                     'the push of the connect answer');
    const [call] = await calls('connect', a.id);
    assert.deepEqual(call, {
        type: 'connect', nsp: '/chat', sid: a.id, auth: { token: 't1' },
        headers: { cookie: ADA }, address: '127.0.0.1',
    });
    const req = app.requests.find((r) => r.body?.sid === a.id);
    assert.equal(req.headers.cookie, ADA, 'the cookie as a header too');
    assert.equal(online.get(a.id), 1);

    for (const cookie of [null, 'session=nope']) {
        const s = socket(cookie, { reconnection: false });
        await assert.rejects(connected(s), (err) => {
            assert.equal(err.message, 'not logged in');
            assert.deepEqual(err.data, { code: 401 });
            return true;
        }, `cookie ${cookie}`);
        assert.equal(s.connected, false);
    }
    closeAll([a]);
});

test('rooms: joined through an event, messages to the room except the '
     + 'sender', async () => {
    const a = await client(ADA);
    const b = await client(BOB);
    const c = await client(BOB);
    assert.deepEqual(await ack(a, 'join', 'room1'), ['room1']);
    assert.deepEqual(await ack(b, 'join', 'room1'), ['room1']);
    assert.deepEqual(await ack(c, 'join', 'room2'), ['room2']);

    assert.deepEqual(await ack(a, 'message', 'room1', 'hi'), ['sent']);
    assert.deepEqual(await ack(b, 'message', 'room1', 'hello'), ['sent']);
    assert.deepEqual(await ack(c, 'message', 'room2', 'alone'), ['sent']);
    await barrier(PUSH, [a, b, c]);

    assert.deepEqual(received(a, 'message'),
                     [[{ from: 'bob', text: 'hello' }]]);
    assert.deepEqual(received(b, 'message'),
                     [[{ from: 'ada', text: 'hi' }]]);
    assert.deepEqual(received(c, 'message'), [],
                     'nothing from another room, nor its own');

    const body = app.calls('event', a.id).find((e) => e.event === 'message');
    assert.deepEqual(body, {
        type: 'event', nsp: '/chat', sid: a.id,
        data: { user: 1, name: 'ada', events: 1 },
        event: 'message', args: ['room1', 'hi'], ack: true,
    });
    closeAll([a, b, c]);
});

test('acks carry the app\'s reply, a $binary as a Buffer', async () => {
    const s = await client();
    assert.deepEqual(await ack(s, 'echo', 1, { a: [true, null] }, 'x'),
                     [1, { a: [true, null] }, 'x']);

    const [buf, n] = await ack(s, 'bytes', 'héllo');
    assert.ok(Buffer.isBuffer(buf), `got ${typeof buf} ${buf}`);
    assert.equal(buf.toString('utf8'), 'héllo');
    assert.equal(n, 6);
    closeAll([s]);
});

test('50 quick events reach the app and come back in order, whatever its '
     + 'delays', async () => {
    const s = await client();
    app.delay = (body) => (body?.type === 'event' ? Math.random() * 50 : 0);
    const order = [];
    const acks = [];
    for (let i = 0; i < 50; i++) {
        acks.push(ack(s, 'echo', i).then((got) => { order.push(got[0]); }));
    }
    await Promise.all(acks);
    const all = [...Array(50).keys()];
    assert.deepEqual(order, all, 'acks in order');
    assert.deepEqual(app.calls('event', s.id).map((e) => e.args[0]), all,
                     'calls in order');
    closeAll([s]);
});

test('socket data set by one hook is seen by the next', async () => {
    const s = await client();
    const [connect] = await calls('connect', s.id);
    assert.ok(connect);
    assert.deepEqual(await ack(s, 'whoami'),
                     [{ user: 1, name: 'ada', events: 1 }]);
    assert.deepEqual(await ack(s, 'whoami'),
                     [{ user: 1, name: 'ada', events: 2 }]);
    assert.deepEqual(app.calls('event', s.id).map((e) => e.data),
                     [{ user: 1, name: 'ada', events: 0 },
                      { user: 1, name: 'ada', events: 1 }]);
    const sid = s.id;
    s.disconnect();
    const [d] = await calls('disconnect', sid);
    assert.deepEqual(d.data, { user: 1, name: 'ada', events: 2 },
                     'the disconnect hook gets the last data');
});

test('disconnect hook: client disconnect, with the rooms', async () => {
    const s = await client();
    await ack(s, 'join', 'room1');
    const sid = s.id;
    s.disconnect();
    const [d] = await calls('disconnect', sid);
    assert.equal(d.reason, 'client namespace disconnect');
    assert.equal(d.type, 'disconnect');
    assert.equal(d.nsp, '/chat');
    assert.deepEqual(d.rooms, [sid, 'room1']);
    await waitFor(() => !online.has(sid), 5000, 'the handler to run');
});

// A TCP relay to nginx that can stop passing what the client writes: its
// pongs stop, nothing else changes on the client's side.
async function stallingProxy(port) {
    let stalled = false;
    const conns = new Set();
    const server = net.createServer((c) => {
        const up = net.connect(port, '127.0.0.1');
        conns.add(c);
        c.on('data', (d) => { if (!stalled) up.write(d); });
        up.pipe(c);
        const end = () => { c.destroy(); up.destroy(); conns.delete(c); };
        c.on('close', end).on('error', end);
        up.on('close', end).on('error', end);
    });
    const p = await freePort();
    await new Promise((r) => server.listen(p, '127.0.0.1', r));
    return {
        url: `http://127.0.0.1:${p}/chat`,
        stall() { stalled = true; },
        close() {
            for (const c of conns) c.destroy();
            server.close();
        },
    };
}

test('disconnect hook: ping timeout', async () => {
    const proxy = await stallingProxy(ngx.port);
    try {
        const s = io(proxy.url, { ...FAST, path: '/quick/', forceNew: true,
                                  reconnection: false,
                                  extraHeaders: { cookie: ADA } });
        record(s);
        opened.push(s);
        await connected(s);
        const sid = s.id;
        proxy.stall();
        assert.equal(await reasonOf(sid), 'ping timeout');
        await waitFor(() => s.rec.disconnects.length, 10000,
                      'the client to see the close');
    } finally {
        proxy.close();
    }
});

test('connect hook failures close the connection; the client comes back '
     + 'by itself', async () => {
    const cases = ['down', 'status', 'notjson', 'slow'];
    for (const fault of cases) {
        if (fault === 'down') {
            await app.stop();
        } else {
            app.fail.connect = fault;
        }
        const s = socket();
        const errors = [];
        s.on('connect_error', (e) => errors.push(e));
        const [reason, details] = await once(s, 'disconnect', 15000);
        assert.equal(reason, 'transport close', fault);
        assert.equal(details?.context?.code, 1011,
                     `${fault}: close code ${details?.context?.code}`);
        assert.equal(s.rec.connects, 0);

        if (fault === 'down') {
            await app.listen();
        } else {
            delete app.fail.connect;
        }
        await connected(s, 15000);
        assert.deepEqual(errors, [], `${fault}: no connect_error`);
        assert.deepEqual(await take(s, 'welcome'), ['ada']);
        assert.deepEqual(await ack(s, 'echo', fault), [fault]);
        closeAll([s]);
    }
    // Each failure is logged, with the status or nginx's code for it.
    const log = ngx.errorLog();
    const failed = 'the connect hook "/_hook/connect" failed: status';
    assert.ok(log.includes(`${failed} 0, rc 502`), 'down: logged');
    assert.ok(log.includes(`${failed} 500`), '500: logged');
    assert.ok(log.includes('the connect hook\'s answer is not a JSON object'),
              'not JSON: logged');
    assert.ok(log.includes(`${failed} 0, rc 504`), 'timeout: logged');
});

test('event hook failures: no ack, the connection stays', async () => {
    const s = await client();
    const sid = s.id;
    for (const fault of ['status', 'notjson', 'slow']) {
        app.fail.event = fault;
        await assert.rejects(
            new Promise((res, rej) => s.timeout(1000).emit(
                'echo', fault, (err, v) => (err ? rej(err) : res(v)))),
            /operation has timed out/, `${fault}: no ack`);
        delete app.fail.event;
        assert.deepEqual(await ack(s, 'echo', `after ${fault}`),
                         [`after ${fault}`], `${fault}: the next one works`);
    }
    assert.equal(s.connected, true);
    assert.equal(s.id, sid);
    assert.deepEqual(s.rec.disconnects, []);
    closeAll([s]);
});

test('ws_relay: to the sender\'s rooms, not to the sender, no call',
     async () => {
    const a = await client(ADA);
    const b = await client(BOB);
    const c = await client(BOB);
    await ack(a, 'join', 'room1');
    await ack(b, 'join', 'room1');
    await ack(c, 'join', 'room2');
    const before = app.requests.length;

    a.emit('typing', { who: 'ada' });
    assert.deepEqual(await take(b, 'typing'), [{ who: 'ada' }]);
    await barrier(PUSH, [a, b, c]);
    assert.deepEqual(received(a, 'typing'), []);
    assert.deepEqual(received(c, 'typing'), []);
    assert.equal(app.requests.length, before, 'no hook call');
    closeAll([a, b, c]);
});

test('disconnect hook: a reload is "server shutting down"', async () => {
    const s = await client();
    const sid = s.id;
    await ngx.reload();
    assert.equal(await reasonOf(sid), 'server shutting down');
    // The client comes back, to the new worker, through the connect hook.
    await waitFor(() => s.connected && s.id !== sid, 15000,
                  'the reconnection');
    closeAll([s]);
});
