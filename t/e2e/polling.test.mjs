/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

// HTTP long-polling seen from the stock socket.io-client: with its default
// transports it opens over polling and upgrades to a WebSocket; with
// polling only it gets every push, in order, binary ones as Buffers; the
// hooks serve it as they serve a WebSocket.  Over HTTP/2 (h2c, Node's own
// client) a polling session works as over HTTP/1.1.  With 4 workers the
// requests of one session land on any of them (a connection each), and
// every client, whatever its transports, gets every push once, in order.

import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { Nginx, wsServer, waitFor } from './lib/nginx.mjs';
import { io, connected, record, received, post, take, closeAll,
         closeAndDrain, once } from './lib/sio.mjs';
import { App } from './lib/app.mjs';

let ngx;
let app;
let PUSH;
const opened = [];

const ADA = 'a=1; session=s-ada';
const RS = '\x1e';
const SID = /^[A-Za-z0-9_-]{20}$/;

before(async () => {
    app = await App.start();
    const locations = `
        location /socket.io/ {
            ws_socketio;
            ws_namespace /chat;
            ws_hook_connect /_hook/connect;
            ws_hook_event /_hook/event;
            ws_hook_disconnect /_hook/disconnect;
        }

        location /_hook/ {
            internal;
            proxy_pass http://127.0.0.1:${app.port}/api/ws/;
            proxy_read_timeout 2s;
        }

        location = /_ws/push {
            allow 127.0.0.1;
            deny all;
            ws_push;
        }

        location = /health {
            ws_health;
        }`;
    ngx = await Nginx.start({
        ports: ['http', 'h2'],
        http: ({ ports }) => `
    server {
        listen 127.0.0.1:${ports.http};
${locations}
    }

    server {
        listen 127.0.0.1:${ports.h2} http2;
${locations}
    }
`,
    });
    PUSH = ngx.url('/_ws/push');
});

afterEach(async () => {
    app.delay = null;
    await closeAndDrain(opened, ngx.url('/health'));
});

after(async () => {
    closeAll(opened);
    await ngx?.stop();
    await app?.stop();
});

// A socket of its own connection in /chat, logged in as ada; `opts` as
// io() takes them (transports: socket.io-client's default unless given).
function socket(opts = {}) {
    const s = io(ngx.url('/chat'), {
        forceNew: true,
        reconnectionDelay: 100,
        reconnectionDelayMax: 500,
        extraHeaders: { cookie: ADA },
        ...opts,
    });
    record(s);
    opened.push(s);
    return s;
}

function ack(s, event, ...args) {
    return new Promise((res, rej) => {
        s.timeout(10000).emit(event, ...args,
                             (err, ...got) => (err ? rej(err) : res(got)));
    });
}

// The Cookie header of the connect hook's call for socket `id`.
function cookieOf(id) {
    const r = app.requests.find((q) => q.hook === 'connect'
                                && q.body?.sid === id);
    return r?.headers.cookie;
}

async function pushTo(body) {
    const r = await post(PUSH, body);
    assert.equal(r.status, 200, `${JSON.stringify(body)}: ${r.text}`);
    return r.json;
}

test('default transports: opens over polling, upgrades to a WebSocket, '
     + 'the hooks and pushes work on both', async () => {
    const s = socket();
    const engine = s.io.engine;
    const upgraded = once(engine, 'upgrade', 10000);
    assert.equal(engine.transport.name, 'polling', 'the handshake');

    await connected(s);
    assert.deepEqual(await take(s, 'welcome'), ['ada'],
                     'the connect hook\'s push');
    assert.equal(cookieOf(s.id), ADA,
                 'the connect hook got the handshake cookie');

    const [transport] = await upgraded;
    assert.equal(transport.name, 'websocket');
    assert.equal(engine.transport.name, 'websocket');

    // after the upgrade: an event to the app and its ack, a push, binary
    assert.deepEqual(await ack(s, 'echo', 1, { a: [true] }, 'x'),
                     [1, { a: [true] }, 'x']);
    const r = await pushTo({ nsp: '/chat', rooms: [s.id], event: 'n',
                             data: [{ $binary: 'AQID' }, 'é€'] });
    assert.equal(r.matched, 1);
    const [buf, text] = await take(s, 'n');
    assert.deepEqual([...buf], [1, 2, 3]);
    assert.equal(text, 'é€');
    assert.equal(engine.transport.name, 'websocket');
    assert.deepEqual(s.rec.disconnects, []);
});

test('default transports: what is pushed during the upgrade arrives once, '
     + 'in order', async () => {
    const s = socket();
    const upgraded = once(s.io.engine, 'upgrade', 10000);
    await connected(s);
    // pushes while the probe is under way and after it
    let i = 0;
    let done = false;
    upgraded.then(() => { done = true; });
    while (!done || i < 5) {
        await pushTo({ nsp: '/chat', rooms: [s.id], event: 'p', data: [i] });
        i++;
        assert.ok(i < 2000, 'the upgrade never came');
    }
    await pushTo({ nsp: '/chat', rooms: [s.id], event: 'end', data: [] });
    await take(s, 'end');
    assert.deepEqual(received(s, 'p').map((a) => a[0]),
                     [...Array(i).keys()]);
    assert.equal(s.io.engine.transport.name, 'websocket');
    assert.deepEqual(s.rec.disconnects, []);
});

test('polling only: every push, in order; events and acks through the '
     + 'hooks; never upgraded', async () => {
    const s = socket({ transports: ['polling'] });
    let upgrades = 0;
    s.io.engine.on('upgrading', () => { upgrades++; });
    await connected(s);
    assert.equal(s.io.engine.transport.name, 'polling');
    assert.deepEqual(await take(s, 'welcome'), ['ada']);

    // 50 pushes one after the other, and 50 sent at once
    for (let i = 0; i < 50; i++) {
        const data = i % 10 === 9
            ? [i, { $binary: Buffer.from([i]).toString('base64') }] : [i];
        const r = await pushTo({ nsp: '/chat', rooms: [s.id], event: 'p',
                                 data });
        assert.equal(r.matched, 1);
    }
    await Promise.all(Array.from({ length: 50 }, (_, k) =>
        pushTo({ nsp: '/chat', rooms: [s.id], event: 'q', data: [k] })));
    await pushTo({ nsp: '/chat', rooms: [s.id], event: 'end', data: [] });
    await take(s, 'end');

    const p = received(s, 'p');
    assert.deepEqual(p.map((a) => a[0]), [...Array(50).keys()],
                     'the sequential pushes, once each, in order');
    for (const a of p.filter((x) => x.length === 2)) {
        assert.deepEqual([...a[1]], [a[0]], 'a binary attachment');
    }
    assert.deepEqual(received(s, 'q').map((a) => a[0]).sort((x, y) => x - y),
                     [...Array(50).keys()], 'the concurrent ones, once each');

    // the client's events: acks in order, even with the app slow for some
    app.delay = (body) => (body.type === 'event' && body.args?.[0] % 3 === 0
                           ? 50 : 0);
    const order = [];
    await Promise.all(Array.from({ length: 12 }, (_, k) =>
        ack(s, 'echo', k).then(([v]) => order.push(v))));
    assert.deepEqual(order, [...Array(12).keys()]);
    const [bytes, n] = await ack(s, 'bytes', 'héllo');
    assert.equal(Buffer.from(bytes).toString('utf8'), 'héllo');
    assert.equal(n, 6);

    assert.equal(s.io.engine.transport.name, 'polling');
    assert.equal(upgrades, 0);
    assert.deepEqual(s.rec.disconnects, []);

    // the client leaves: the disconnect hook hears of it
    const id = s.id;
    s.disconnect();
    const calls = await waitFor(() => {
        const c = app.calls('disconnect', id);
        return c.length ? c : null;
    }, 10000, 'the disconnect hook');
    assert.equal(calls[0].reason, 'client namespace disconnect');
});

// ------------------------------------------------------------ HTTP/2

// One request on an HTTP/2 session: {status, headers, body}.
function h2req(session, method, path, body, headers = {}) {
    return new Promise((res, rej) => {
        const req = session.request({ ':method': method, ':path': path,
                                      cookie: ADA, ...headers },
                                    { endStream: body === undefined });
        let head;
        const chunks = [];
        req.on('response', (h) => { head = h; });
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => res({ status: head?.[':status'], headers: head,
                                  body: Buffer.concat(chunks)
                                      .toString('utf8') }));
        req.on('error', rej);
        if (body !== undefined) {
            req.end(body);
        }
    });
}

test('HTTP/2 (h2c): a polling session, its pushes and events; a cancelled '
     + 'GET ends it', async () => {
    const session = http2.connect(ngx.url('/', 'http', 'h2'));
    session.on('error', () => {});
    const P = '/socket.io/?EIO=4&transport=polling';
    try {
        let r = await h2req(session, 'GET', P);
        assert.equal(r.status, 200);
        assert.equal(r.headers['content-type'], 'text/plain; charset=UTF-8');
        assert.equal(r.headers['cache-control'], 'no-store');
        const m = /^0\{"sid":"([^"]+)","upgrades":\["websocket"\],/
            .exec(r.body);
        assert.ok(m, r.body);
        const sid = m[1];
        const S = `${P}&sid=${sid}`;

        r = await h2req(session, 'POST', S, '40/chat,',
                        { 'content-type': 'text/plain;charset=UTF-8' });
        assert.equal(r.status, 200);
        assert.equal(r.body, 'ok');

        // the CONNECT reply, and the hook's welcome push (maybe a GET later)
        r = await h2req(session, 'GET', S);
        let body = r.body;
        if (!body.includes(RS)) {
            body += RS + (await h2req(session, 'GET', S)).body;
        }
        const c = new RegExp('^40/chat,\\{"sid":"([^"]+)"\\}\x1e'
                             + '42/chat,\\["welcome","ada"\\]$').exec(body);
        assert.ok(c, body);
        const sock = c[1];
        assert.match(sock, SID);
        assert.equal(cookieOf(sock), ADA);

        // a GET waiting for a push (or taking it if it came first)
        const waiting = h2req(session, 'GET', S);
        await pushTo({ nsp: '/chat', rooms: [sock], event: 'h2',
                       data: [{ $binary: 'AQID' }] });
        r = await waiting;
        assert.equal(r.body, '451-/chat,["h2",{"_placeholder":true,"num":0}]'
                             + `${RS}bAQID`);

        // an event with an ack, in two POSTs on the same connection
        r = await h2req(session, 'POST', S, '42/chat,7["echo","over h2"]');
        assert.equal(r.body, 'ok');
        r = await h2req(session, 'GET', S);
        assert.equal(r.body, '43/chat,7["over h2"]');

        // a GET reset by the client (RST_STREAM) ends the session
        const req = session.request({ ':method': 'GET', ':path': S });
        req.on('error', () => {});
        // a request after it on the same connection: answered once nginx
        // has read the GET (frames are read in order)
        assert.equal((await h2req(session, 'GET', '/health')).status, 200);
        const closed = new Promise((res) => req.on('close', res));
        req.close(http2.constants.NGHTTP2_CANCEL);
        await closed;
        // and one after the reset: nginx ends the session after the read
        // that brought the reset, so a GET in that same read would still
        // find it (and get its close packet, 200 "1")
        assert.equal((await h2req(session, 'GET', '/health')).status, 200);
        r = await h2req(session, 'GET', S);
        assert.equal(`${r.status} ${r.body}`,
                     '400 {"code":1,"message":"Session ID unknown"}');
        await waitFor(() => app.calls('disconnect', sock).length, 10000,
                      'the disconnect hook');
    } finally {
        session.close();
    }
});

// ------------------------------------------------------------ workers

test('4 workers, 200 clients (default, polling only, websocket only): every '
     + 'push reaches every client once, in order, with no disconnect',
     { timeout: 120000 }, async () => {
    const W = await Nginx.start({
        workers: 4,
        // reuseport: the kernel spreads connections over the workers, and
        // a polling client opens one for each request
        http: ({ ports }) => wsServer({
            listen: `127.0.0.1:${ports.http} reuseport backlog=4096`,
        }),
    });
    const CLIENTS = 200;
    const clients = [];
    const kinds = [undefined, ['polling'], ['websocket']];
    let ok = false;
    try {
        for (let i = 0; i < CLIENTS; i++) {
            const transports = kinds[i % 3];
            const s = io(W.url('/chat'), {
                forceNew: true,
                reconnectionDelay: 100,
                reconnectionDelayMax: 500,
                ...(transports ? { transports } : {}),
            });
            s.kind = transports ? transports[0] : 'default';
            s.upgraded = false;
            s.io.engine.on('upgrade', () => { s.upgraded = true; });
            s.errors = [];
            s.on('connect_error', (e) => s.errors.push(e.message));
            record(s);
            clients.push(s);
        }

        // Every client connected at its first try: a request of its
        // session answered 400 by a worker that does not know it would be
        // a connect_error (and a reconnection).
        const summary = (list) => {
            const by = {};
            for (const s of list) {
                const k = `${s.kind}: ${[...new Set(s.errors)].join(', ')}`;
                by[k] = (by[k] || 0) + 1;
            }
            return JSON.stringify(by);
        };
        await waitFor(() => clients.every((s) => s.connected
                                          || s.errors.length), 30000,
                      'every client to connect or fail');
        const failed = clients.filter((s) => s.errors.length);
        assert.deepEqual(failed.map((s) => s.kind), [],
                         `${failed.length} of ${CLIENTS} clients had a connect_error: `
                         + summary(failed));

        // the default clients try their upgrade at once: wait for it
        const defaults = clients.filter((s) => s.kind === 'default');
        await waitFor(() => defaults.every((s) => s.upgraded), 15000,
                      'every default client to upgrade')
            .catch((e) => {
                const stuck = defaults.filter((s) => !s.upgraded).length;
                throw new Error(`${e.message}: ${stuck} of ${defaults.length}`
                                + ' did not');
            });

        const N = 20;
        for (let i = 0; i < N; i++) {
            const r = await post(W.url('/_ws/push'),
                                 { nsp: '/chat', event: 'p', data: [i] });
            assert.equal(r.status, 200, r.text);
        }
        await post(W.url('/_ws/push'), { nsp: '/chat', event: 'end' });
        await waitFor(() => clients.every((s) =>
            s.rec.events.some((e) => e.event === 'end')), 30000,
            'the "end" push on every client').catch((e) => {
            const miss = clients.filter((s) =>
                !s.rec.events.some((ev) => ev.event === 'end'));
            throw new Error(`${e.message}: missing on ${miss.length} `
                            + `(${miss.map((s) => s.kind).join(',')})`);
        });

        const bad = [];
        for (const s of clients) {
            const got = received(s, 'p').map((a) => a[0]);
            const want = [...Array(N).keys()];
            if (JSON.stringify(got) !== JSON.stringify(want)
                || s.rec.disconnects.length || s.rec.connects !== 1) {
                bad.push({ kind: s.kind, got, connects: s.rec.connects,
                           disconnects: s.rec.disconnects.map((d) =>
                               d.reason) });
            }
        }
        assert.deepEqual(bad, [], `${bad.length} of ${CLIENTS} clients`);
        for (const s of defaults) {
            assert.equal(s.io.engine.transport.name, 'websocket');
        }
        ok = true;
    } finally {
        closeAll(clients);
        // a failure above is the one to see, not the log's
        await W.stop().catch((e) => { if (ok) throw e; });
    }
});
