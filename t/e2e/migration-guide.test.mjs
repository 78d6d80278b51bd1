/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

// docs/migrating-from-node.md, its code run: every code block of the
// guide that names a file of docs/migrating-from-node/ is that file, byte
// for byte; the Node server it starts from ("before") and nginx with the
// route handlers behind a small node:http adapter ("after") pass the same
// scenario with the same client code: the cookie decides the connect, a
// message is saved, acknowledged and broadcast to the room but not to its
// sender, the job worker notifies one user (through the push endpoint, and
// with @socket.io/redis-emitter through ws_redis), presence follows the
// disconnects; CORS from the environment, the hooks not public.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync, existsSync, symlinkSync,
         statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Nginx, ROOT, freePort, waitFor } from './lib/nginx.mjs';
import { startRedis } from './lib/redis.mjs';

const GUIDE = join(ROOT, 'docs/migrating-from-node.md');
const DIR = join(ROOT, 'docs/migrating-from-node');

// The samples that import npm packages (the client, the Redis job) find
// them where the e2e tests have theirs.
if (!existsSync(join(DIR, 'node_modules'))) {
    symlinkSync('../../t/e2e/node_modules', join(DIR, 'node_modules'));
}

const { connect } = await import(join(DIR, 'client.mjs'));
const { saved } = await import(join(DIR, 'lib/messages.mjs'));
const { online } = await import(join(DIR, 'lib/presence.mjs'));

let ngx;
let appServer;
let redis;
let redisPort;
const clients = [];

function files(dir) {
    const out = [];
    for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (e.name === 'node_modules') {
            continue;
        }
        const p = join(dir, e.name);
        if (e.isDirectory()) {
            out.push(...files(p));
        } else {
            out.push(p);
        }
    }
    return out;
}

// A client as the samples use it, with what it shows recorded.
function client(url, cookie) {
    const shown = [];
    const c = connect(url, {
        show: (kind, what) => shown.push({ kind, what }),
        extraHeaders: cookie ? { Cookie: cookie } : {},
        reconnection: false,
    });
    c.shown = shown;
    outcome(c.chat);
    outcome(c.notifications);
    clients.push(c);
    return c;
}

// Records the outcome of each socket's first connect, from the start.
function outcome(socket) {
    socket.outcome = new Promise((res) => {
        socket.once('connect', () => res('connected'));
        socket.once('connect_error', (e) => res(e.message));
    });
}

function connectedOrRefused(socket) {
    return socket.outcome;
}

async function shows(c, kind, ms = 10000) {
    await waitFor(() => c.shown.some((s) => s.kind === kind), ms,
                  `"${kind}" shown`, 10);
    const i = c.shown.findIndex((s) => s.kind === kind);
    return c.shown.splice(i, 1)[0].what;
}

function closeAll() {
    for (const c of clients.splice(0)) {
        c.chat.disconnect();
        c.notifications.disconnect();
    }
}

// The same scenario for the Node server and for nginx: only the URL and
// the job's way to notify differ.
async function scenario(url, notifyUser) {
    const ada = client(url, 'theme=dark; session=s-ada');
    const bob = client(url, 'session=s-bob');
    const anon = client(url, null);

    for (const c of [ada, bob]) {
        assert.equal(await connectedOrRefused(c.chat), 'connected');
        assert.equal(await connectedOrRefused(c.notifications), 'connected');
    }
    assert.equal(await connectedOrRefused(anon.chat), 'not logged in');
    assert.equal(await shows(anon, 'error'), 'not logged in');
    assert.deepEqual(new Set(online.keys()), new Set([ada.chat.id,
                                                      bob.chat.id]),
                     'presence: the logged-in chat sockets');

    // a message: saved, acknowledged, broadcast to the room but the sender
    assert.deepEqual(await bob.chat.emitWithAck('join', 'room:1'),
                     { ok: true });
    const n = saved.length;
    const ack = await ada.say('room:1', 'hello');
    assert.deepEqual(ack, { ok: true, id: n + 1 });
    const msg = { id: n + 1, room: 'room:1', from: 'ada', text: 'hello' };
    assert.deepEqual(saved.at(-1), msg);
    assert.deepEqual(await shows(bob, 'message'), msg);

    // the job worker notifies ada alone
    await notifyUser(1, { id: 7, text: 'build passed' });
    assert.deepEqual(await shows(ada, 'notification'),
                     { id: 7, text: 'build passed' });

    // nothing else: a last message to both, which bob sees first
    await bob.say('room:1', 'bye');
    assert.deepEqual((await shows(ada, 'message')).text, 'bye');
    assert.deepEqual(ada.shown, [], 'ada: not her own message');
    assert.deepEqual(bob.shown, [], 'bob: not ada\'s notification');

    closeAll();
    await waitFor(() => online.size === 0, 10000, 'presence to empty');
}

before(async () => {
    redis = await startRedis();
    redisPort = redis.port;
});

after(async () => {
    closeAll();
    await new Promise((r) => (appServer ? appServer.close(r) : r()));
    await ngx?.stop();
    redis?.stop();
});

test('the guide shows the files of docs/migrating-from-node as they are',
     () => {
    const md = readFileSync(GUIDE, 'utf8');
    const shown = new Set();
    for (const [, body] of md.matchAll(/^```\w*\n([\s\S]*?)^```$/gm)) {
        const m = /^(?:\/\/|#) (docs\/migrating-from-node\/\S+)\n/.exec(body);
        if (!m) {
            continue;
        }
        const file = readFileSync(join(ROOT, m[1]), 'utf8');
        assert.equal(body, file, `${m[1]}: the guide shows another text`);
        shown.add(m[1]);
    }
    for (const f of files(DIR)) {
        assert.ok(shown.has(relative(ROOT, f)),
                  `${relative(ROOT, f)} is not shown in the guide`);
    }
    assert.match(readFileSync(join(ROOT, 'README.md'), 'utf8'),
                 /docs\/migrating-from-node\.md/, 'README links the guide');
});

test('before: the Node socket.io server', async () => {
    const port = await freePort();
    const { start } = await import(join(DIR, 'before/server.mjs'));
    const server = await start(port);
    try {
        await scenario(`http://127.0.0.1:${port}`, server.notifyUser);
    } finally {
        server.close();
    }
});

test('after: nginx, the route handlers, the same client', async () => {
    const { serve } = await import(join(DIR, 'adapter.mjs'));
    appServer = await serve();
    const appPort = appServer.address().port;

    const template = readFileSync(join(DIR, 'nginx/ws-cors.conf.template'),
                                  'utf8');
    const snippet = readFileSync(join(DIR, 'nginx/socketio.conf'), 'utf8');

    ngx = await Nginx.start({
        ports: ['http', 'push'],
        workers: 2,
        http: ({ ports, prefix }) => {
            // the deploy step of the template, as its comment gives it
            writeFileSync(join(prefix, 'ws-cors.conf'), execFileSync(
                'envsubst', ['$CORS_ORIGIN'], {
                    input: template,
                    env: { ...process.env, CORS_ORIGIN:
                           'https://app.example.com http://localhost:3000' },
                }));
            return `
    ws_redis 127.0.0.1:${redisPort};

    upstream nextjs {
        server 127.0.0.1:${appPort};
        keepalive 8;
    }

    server {
        listen 127.0.0.1:${ports.http};
${snippet.split('/etc/nginx/snippets/ws-cors.conf')
         .join(join(prefix, 'ws-cors.conf'))}
    }

    server {
        listen 127.0.0.1:${ports.push};

        location = /_ws/push {
            client_max_body_size 64k;
            client_body_buffer_size 64k;
            ws_push;
        }

        location = /health {
            ws_health;
        }
    }
`;
        },
    });

    process.env.WS_PUSH_URL = ngx.url('/_ws/push', 'http', 'push');
    const { notifyUser } = await import(join(DIR, 'jobs/notify.mjs'));
    await scenario(ngx.url(''), notifyUser);
});

test('after: the job worker on @socket.io/redis-emitter, unchanged',
     async () => {
    await waitFor(async () => {
        const r = await fetch(ngx.url('/health', 'http', 'push'));
        return (await r.json()).redis?.state === 'up';
    }, 10000, 'nginx to subscribe to Redis');

    const job = await import(join(DIR, 'jobs/notify-redis.mjs'));
    const { io, quit } = await job.connectEmitter(
        `redis://127.0.0.1:${redisPort}`);
    const ada = client(ngx.url(''), 'session=s-ada');
    try {
        assert.equal(await connectedOrRefused(ada.notifications),
                     'connected');
        job.notifyUser(io, 1, { id: 8 });
        assert.deepEqual(await shows(ada, 'notification'), { id: 8 });
    } finally {
        closeAll();
        await quit();
    }
});

test('after: CORS from the environment; the hooks are not public',
     async () => {
    const handshake = (origin) => fetch(
        ngx.url('/socket.io/?EIO=4&transport=polling'),
        { headers: { Origin: origin } });
    let r = await handshake('https://app.example.com');
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('access-control-allow-origin'),
                 'https://app.example.com');
    assert.equal(r.headers.get('access-control-allow-credentials'), 'true');
    r = await handshake('https://evil.example');
    assert.equal(r.status, 403);

    for (const hook of ['connect', 'event', 'disconnect']) {
        r = await fetch(ngx.url(`/api/ws/${hook}`), {
            method: 'POST', headers: { 'Content-Type': 'application/json' },
            body: '{"sid":"x","data":{"user":{"id":1,"name":"ada"}},'
                  + '"event":"message","args":["room:1","forged"]}',
        });
        assert.equal(r.status, 404, `/api/ws/${hook} from outside`);
    }
    assert.notEqual(saved.at(-1)?.text, 'forged');
});
