/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

// conf-examples/nextjs-single-domain.conf, run as shipped but for what a
// test machine has to change (ports, certificate, module path, a Node
// HTTP server standing in for Next.js): the example keeps working.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Nginx, ROOT, makeCert, freePort } from './lib/nginx.mjs';
import { Manager, FAST, connected, record, post, get, take, closeAll }
    from './lib/sio.mjs';

let ngx;
let app;
let appPort;
const opened = [];

// Replaces `from` (which must be there) by `to`.
function swap(text, from, to) {
    assert.ok(text.includes(from), `the example no longer has: ${from}`);
    return text.split(from).join(to);
}

function exampleConf(cert) {
    return ({ ports, prefix, module }) => {
        let c = readFileSync(
            join(ROOT, 'conf-examples/nextjs-single-domain.conf'), 'utf8');
        c = swap(c, 'load_module modules/ngx_ws_module.so;',
                 `load_module ${module};
daemon off;
master_process on;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log notice;`);
        c = swap(c, 'include mime.types;', `
    access_log ${prefix}/access.log;
    client_body_temp_path ${prefix}/tmp/body;
    proxy_temp_path ${prefix}/tmp/proxy;
    fastcgi_temp_path ${prefix}/tmp/fastcgi;
    uwsgi_temp_path ${prefix}/tmp/uwsgi;
    scgi_temp_path ${prefix}/tmp/scgi;`);
        // Loopback only here (IPv6 may be absent).
        c = swap(c, 'listen [::]:80;', '');
        c = swap(c, 'listen [::]:443 ssl http2;', '');
        c = swap(c, 'listen 80;', `listen 127.0.0.1:${ports.http};`);
        c = swap(c, 'listen 443 ssl http2;',
                 `listen 127.0.0.1:${ports.https} ssl http2;`);
        c = swap(c, '/etc/letsencrypt/live/app.example.com/fullchain.pem',
                 cert.crt);
        c = swap(c, '/etc/letsencrypt/live/app.example.com/privkey.pem',
                 cert.key);
        // This machine caps a process at 20,000 open files.
        c = swap(c, 'worker_rlimit_nofile 65536;',
                 'worker_rlimit_nofile 16384;');
        c = swap(c, 'worker_connections 32768;', 'worker_connections 8192;');
        c = swap(c, 'http://127.0.0.1:3000', `http://127.0.0.1:${appPort}`);
        return c;
    };
}

before(async () => {
    // What stands in for Next.js: tells what nginx forwarded.
    app = http.createServer((req, res) => {
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify({ app: 'next', url: req.url,
                                 headers: req.headers }));
    });
    appPort = await freePort();
    await new Promise((r) => app.listen(appPort, '127.0.0.1', r));

    let cert;
    ngx = await Nginx.start({
        ports: ['https', 'http'],
        prepare: (prefix) => { cert = makeCert(prefix); },
        conf: (ctx) => exampleConf(cert)(ctx),
    });
});

after(async () => {
    closeAll(opened);
    await ngx?.stop();
    await new Promise((r) => app?.close(r) ?? r());
});

test('the Next.js example: app proxied, Socket.IO and push served',
     async () => {
    // Plain HTTP only redirects.
    const redir = await get(ngx.url('/page?x=1', 'http', 'http'));
    assert.equal(redir.status, 301);
    assert.match(redir.headers.location, /^https:\/\/127\.0\.0\.1\/page\?x=1$/);

    // Pages go to the app, with the usual headers.
    const page = await get(ngx.url('/dashboard', 'https'));
    assert.equal(page.status, 200);
    assert.equal(page.json.app, 'next');
    assert.equal(page.json.url, '/dashboard');
    assert.equal(page.json.headers['x-forwarded-proto'], 'https');
    assert.equal(page.json.headers['x-real-ip'], '127.0.0.1');

    // Socket.IO is nginx's own, over the same port.
    const m = new Manager(ngx.url('/', 'https'),
                          { ...FAST, rejectUnauthorized: false });
    opened.push(m);
    const notif = m.socket('/notifications');
    const chat = m.socket('/chat');
    for (const s of [notif, chat]) {
        record(s);
        opened.push(s);
    }
    await Promise.all([connected(notif), connected(chat)]);

    const push = ngx.url('/_ws/push', 'https');
    let r = await post(push, { op: 'join', nsp: '/notifications',
                               rooms: [notif.id], room: 'user:42' });
    // worker_processes auto: "matched" counts the answering worker's
    // sockets; the join reaches the socket on whichever worker holds it.
    assert.equal(r.status, 200, r.text);
    assert.ok(r.json.matched <= 1, r.text);
    r = await post(push, { nsp: '/notifications', rooms: ['user:42'],
                           event: 'notification', data: [{ id: 7 }] });
    assert.equal(r.status, 200, r.text);
    assert.ok(r.json.matched <= 1, r.text);
    assert.deepEqual(await take(notif, 'notification'), [{ id: 7 }]);

    const h = await get(ngx.url('/health', 'https'));
    assert.equal(h.status, 200);
    assert.equal(h.json.namespaces['/chat'], 1, h.text);
    closeAll([m, notif, chat]);
});
