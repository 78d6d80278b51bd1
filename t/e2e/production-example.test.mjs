/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

// conf-examples/nextjs-single-domain.conf, a site file for Debian's
// layout, run as shipped: only the certificate paths, the listen
// addresses and ports, and the upstream's address are changed.  The
// nginx.conf around it is Debian's, with load_module where the package's
// modules-enabled snippet would be.  A Node HTTP server stands in for
// Next.js.  The pushes are the commands the file's comment gives, run as
// they are written there (curl, and the fetch() for Next.js), in both
// variants: this host (loopback port, unix socket), other hosts (the
// private listener and its secret).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Nginx, ROOT, makeCert, freePort, waitFor, childrenOf }
    from './lib/nginx.mjs';
import { Manager, connected, record, take, closeAll } from './lib/sio.mjs';

const SITE = join(ROOT, 'conf-examples/nextjs-single-domain.conf');
const shipped = readFileSync(SITE, 'utf8');

let ngx;
let app;
let appPort;
let v6;
let sock;
const appSeen = { requests: [], sockets: 0, upgrades: [] };
const opened = [];

// Replaces `from` (which must be there) by `to`.
function swap(text, from, to) {
    assert.ok(text.includes(from), `the example no longer has: ${from}`);
    return text.split(from).join(to);
}

// What a machine of its own would have, and this one has not.
function localize(text, { ports, prefix }) {
    const m = {
        'ssl_certificate     /etc/letsencrypt/live/app.example.com/fullchain.pem':
            `ssl_certificate     ${prefix}/cert.pem`,
        'ssl_certificate_key /etc/letsencrypt/live/app.example.com/privkey.pem':
            `ssl_certificate_key ${prefix}/cert.key`,
        'listen 80;': `listen 127.0.0.1:${ports.http};`,
        'listen [::]:80;': `listen [::1]:${v6.http};`,
        'listen 443 ssl': `listen 127.0.0.1:${ports.https} ssl`,
        'listen [::]:443 ssl': `listen [::1]:${v6.https} ssl`,
        'listen 127.0.0.1:8090;': `listen 127.0.0.1:${ports.local};`,
        'listen unix:/run/ngx-ws/push.sock;': `listen unix:${sock};`,
        'listen 10.0.0.5:8091;': `listen 127.0.0.1:${ports.private};`,
        'server 127.0.0.1:3000;': `server 127.0.0.1:${appPort};`,
    };
    for (const [from, to] of Object.entries(m)) {
        text = swap(text, from, to);
    }
    return text;
}

// The same change for the commands of the comment.
function localizeCommand(cmd) {
    return cmd
        .split('http://127.0.0.1:8090').join(`http://127.0.0.1:${ngx.ports.local}`)
        .split('/run/ngx-ws/push.sock').join(sock)
        .split('http://10.0.0.5:8091').join(`http://127.0.0.1:${ngx.ports.private}`);
}

// Debian 12's /etc/nginx/nginx.conf, but for the paths a test owns and
// the limits this machine has (at most 20,000 open files a process).
function debianConf({ prefix, module }) {
    return `
load_module ${module};
daemon off;
master_process on;
worker_processes auto;
worker_rlimit_nofile 16384;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log notice;

events {
    worker_connections 4096;
}

http {
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers on;
    access_log ${prefix}/access.log;
    gzip on;
    client_body_temp_path ${prefix}/tmp/body;
    proxy_temp_path ${prefix}/tmp/proxy;
    fastcgi_temp_path ${prefix}/tmp/fastcgi;
    uwsgi_temp_path ${prefix}/tmp/uwsgi;
    scgi_temp_path ${prefix}/tmp/scgi;
    include ${prefix}/conf.d/*.conf;
    include ${prefix}/sites-enabled/*;
}
`;
}

// The shell commands of the comment: "curl ..." with its continuations.
function commentCommands() {
    const lines = shipped.split('\n');
    const cmds = [];
    for (let i = 0; i < lines.length; i++) {
        if (!/^#\s+curl /.test(lines[i])) {
            continue;
        }
        let cmd = '';
        for (;;) {
            const l = lines[i].replace(/^#\s+/, '');
            cmd += l.replace(/\\$/, '') + ' ';
            if (!/\\$/.test(l)) {
                break;
            }
            i++;
        }
        cmds.push(cmd.trim());
    }
    return cmds;
}

// The fetch() of the comment, from "await fetch(" to its "});".
function commentFetch() {
    const m = shipped.match(/^#\s+(await fetch\([\s\S]*?^#\s+\}\);)/m);
    assert.ok(m, 'the comment shows a fetch()');
    return m[1].split('\n').map((l) => l.replace(/^#\s{4}/, '')).join('\n');
}

function sh(cmd) {
    return execFileSync('bash', ['-c', cmd], { encoding: 'utf8' });
}

// A request with the headers a browser would send to app.example.com.
function request(url, { method = 'GET', headers = {}, body, socketPath }
                 = {}) {
    const mod = url.startsWith('https:') ? https : http;
    return new Promise((res, rej) => {
        const req = mod.request(url, {
            method, agent: false, rejectUnauthorized: false, socketPath,
            servername: 'app.example.com',
            headers: { Host: 'app.example.com', ...headers },
        }, (r) => {
            let text = '';
            r.setEncoding('utf8');
            r.on('data', (c) => { text += c; });
            r.on('end', () => {
                let json;
                try { json = JSON.parse(text); } catch { json = undefined; }
                res({ status: r.statusCode, headers: r.headers, text, json });
            });
        });
        req.setTimeout(15000, () => req.destroy(new Error(`${url}: timeout`)));
        req.on('error', rej);
        req.end(body);
    });
}

before(async () => {
    // Next.js' stand-in: tells what nginx forwarded, counts connections.
    app = http.createServer((req, res) => {
        appSeen.requests.push({ url: req.url, headers: req.headers });
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify({ app: 'next', url: req.url,
                                 headers: req.headers }));
    });
    app.on('connection', () => { appSeen.sockets++; });
    app.on('upgrade', (req, s) => {
        appSeen.upgrades.push(req.headers);
        s.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
    });
    appPort = await freePort();
    await new Promise((r) => app.listen(appPort, '127.0.0.1', r));
    v6 = { http: await freePort(), https: await freePort() };

    ngx = await Nginx.start({
        ports: ['https', 'http', 'local', 'private'],
        prepare: (prefix) => {
            makeCert(prefix);
            mkdirSync(join(prefix, 'conf.d'));
            mkdirSync(join(prefix, 'sites-enabled'));
            sock = join(prefix, 'push.sock');
        },
        conf: (ctx) => {
            writeFileSync(join(ctx.prefix, 'sites-enabled/app.example.com'),
                          localize(shipped, ctx));
            return debianConf(ctx);
        },
    });
});

after(async () => {
    closeAll(opened);
    await ngx?.stop();
    await new Promise((r) => app?.close(r) ?? r());
});

test('a site file: no load_module, nothing outside http {}', () => {
    assert.doesNotMatch(shipped, /^\s*load_module/m);
    assert.doesNotMatch(shipped, /^\s*(events|http|worker_\w+)\b/m);
    assert.match(ngx.errorLog(), /start worker process/);
});

test('plain HTTP redirects to https, but for ACME challenges', async () => {
    const r = await request(ngx.url('/page?x=1', 'http', 'http'));
    assert.equal(r.status, 301);
    assert.equal(r.headers.location, 'https://app.example.com/page?x=1');
    const acme = await request(
        ngx.url('/.well-known/acme-challenge/token', 'http', 'http'));
    assert.equal(acme.status, 404);
    const six = await request(`http://[::1]:${v6.http}/x`);
    assert.equal(six.status, 301, 'and over IPv6');
});

test('pages go to Next.js, kept alive, with HSTS', async () => {
    const before = appSeen.sockets;
    for (let i = 0; i < 5; i++) {
        const page = await request(ngx.url(`/dashboard/${i}`, 'https'));
        assert.equal(page.status, 200);
        assert.equal(page.json.app, 'next');
        assert.equal(page.json.url, `/dashboard/${i}`);
        const h = page.json.headers;
        assert.equal(h['x-forwarded-proto'], 'https');
        assert.equal(h['x-real-ip'], '127.0.0.1');
        assert.equal(h.host, 'app.example.com');
        assert.equal(h.connection, undefined,
                     'no Connection header: the upstream stays alive');
        assert.equal(page.headers['strict-transport-security'],
                     'max-age=63072000');
    }
    // each worker keeps its own upstream connections
    const upstream = appSeen.sockets - before;
    const workers = childrenOf(ngx.master).length;
    assert.ok(upstream <= Math.min(workers, 4),
              `five requests, ${upstream} upstream connection(s) for `
              + `${workers} worker(s)`);

    const six = await request(`https://[::1]:${v6.https}/six`);
    assert.equal(six.status, 200, 'and over IPv6');
    assert.equal(six.json.url, '/six');

    // an upgrade (the dev server's hot reload) still reaches the app
    await request(ngx.url('/_next/webpack-hmr', 'https'), {
        headers: { Connection: 'Upgrade', Upgrade: 'websocket' },
    }).catch(() => {});
    assert.equal(appSeen.upgrades.at(-1)?.connection, 'upgrade');

    // /health and /_ws/push are not public: they are Next.js' there
    for (const path of ['/health', '/_ws/push']) {
        const r = await request(ngx.url(path, 'https'), {
            method: 'POST', headers: { 'Content-Type': 'application/json' },
            body: '{"event":"x"}',
        });
        assert.equal(r.json?.app, 'next', `${path} on the public name`);
    }
});

test('TLS: 1.2 and 1.3 only, a session cache, backlog within somaxconn',
     async () => {
    const proto = (opts) => new Promise((res) => {
        const s = tls.connect({ host: '127.0.0.1', port: ngx.ports.https,
                                rejectUnauthorized: false,
                                servername: 'app.example.com', ...opts },
                              () => { res(s.getProtocol()); s.end(); });
        s.on('error', () => res(null));
    });
    assert.equal(await proto({}), 'TLSv1.3');
    assert.equal(await proto({ maxVersion: 'TLSv1.2' }), 'TLSv1.2');
    assert.equal(await proto({ minVersion: 'TLSv1', maxVersion: 'TLSv1.1',
                               ciphers: 'DEFAULT:@SECLEVEL=0' }), null);

    const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn',
                                          'utf8'));
    const ss = sh(`ss -Hltn 'sport = :${ngx.ports.https}'`);
    const sendq = Number(ss.trim().split(/\s+/)[2]);
    assert.equal(sendq, Math.min(4096, somaxconn), ss);
});

test('socket.io-client over wss, pushed to as the comment says',
     async () => {
    const m = new Manager(ngx.url('/', 'https'), {
        rejectUnauthorized: false,
        extraHeaders: { Host: 'app.example.com' },
        reconnectionDelay: 100, reconnectionDelayMax: 500,
    });
    opened.push(m);
    const notif = m.socket('/notifications');
    const chat = m.socket('/chat');
    for (const s of [notif, chat]) {
        record(s);
        opened.push(s);
    }
    await Promise.all([connected(notif), connected(chat)]);
    await waitFor(() => m.engine.transport.name === 'websocket', 10000,
                  'the upgrade to a WebSocket');

    // the app puts the user's sockets in their room: a push too
    const local = `http://127.0.0.1:${ngx.ports.local}/_ws/push`;
    const join = await request(local, {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ op: 'join', nsp: '/notifications',
                               rooms: [notif.id], room: 'user:42' }),
    });
    // worker_processes auto: "matched" counts the answering worker's
    // sockets; the push reaches the socket on whichever worker holds it
    assert.equal(join.status, 200, join.text);
    assert.ok(join.json.matched <= 1, join.text);

    // (a) and (b): every curl command of the comment
    const cmds = commentCommands();
    assert.equal(cmds.length, 3, cmds.join('\n'));
    for (const cmd of cmds) {
        const out = JSON.parse(sh(localizeCommand(cmd)));
        assert.ok(out.matched === 0 || out.matched === 1, cmd);
        assert.deepEqual(await take(notif, 'notification'), [{ id: 7 }], cmd);
    }

    // (a) from Next.js: the fetch() of the comment
    const run = new Function(`return (async () => {
        ${localizeCommand(commentFetch())}
    })();`);
    await run();
    assert.deepEqual(await take(notif, 'notification'), [{ id: 7 }],
                     'fetch()');

    // (b) without the secret, or with another one: 401, in JSON
    const secretCmd = cmds.find((c) => c.includes('Authorization'));
    const without = secretCmd.replace(/-H 'Authorization: [^']*'/, '');
    const wrong = secretCmd.replace(/Bearer [^']*'/, "Bearer guess'");
    for (const cmd of [without, wrong]) {
        const out = sh(localizeCommand(cmd.replace(/^curl -s/,
                                                   'curl -s -i')));
        assert.match(out, /^HTTP\/1\.1 401 /, cmd);
        assert.match(out, /WWW-Authenticate: Bearer/i);
        assert.match(out, /\{"error":"missing or wrong push secret"\}/);
    }
    assert.equal(notif.rec.events.length, 0, 'nothing else arrived');

    // /health on both internal listeners
    for (const url of [`http://127.0.0.1:${ngx.ports.local}/health`,
                       `http://127.0.0.1:${ngx.ports.private}/health`]) {
        const h = await request(url);
        assert.equal(h.status, 200);
        assert.equal(h.json.status, 'ok');
        assert.equal(h.json.namespaces['/chat'], 1, h.text);
    }
    const h = await request('http://localhost/health', { socketPath: sock });
    assert.equal(h.json?.status, 'ok', 'health on the unix socket');

    closeAll([m, notif, chat]);
});

test('ws_limit_conn_per_ip 50: the 51st session of an address gets 429',
     async () => {
    const health = `http://127.0.0.1:${ngx.ports.local}/health`;
    await waitFor(async () => (await request(health)).json?.connections === 0,
                  10000, 'no session left');
    const limit = Number(shipped.match(/ws_limit_conn_per_ip (\d+);/)[1]);
    const handshake = () => request(
        ngx.url('/socket.io/?EIO=4&transport=polling', 'https'));
    const sids = [];
    for (let i = 0; i < limit; i++) {
        const r = await handshake();
        assert.equal(r.status, 200, r.text);
        sids.push(r.text.match(/"sid":"([^"]+)"/)[1]);
    }
    const over = await handshake();
    assert.equal(over.status, 429);
    assert.equal(over.text, '{"code":4,"message":"Too many connections"}');
    assert.equal(over.headers['content-type'], 'application/json');

    for (const sid of sids) {
        const r = await request(
            ngx.url(`/socket.io/?EIO=4&transport=polling&sid=${sid}`,
                    'https'),
            { method: 'POST', body: '1',
              headers: { 'Content-Type': 'text/plain;charset=UTF-8' } });
        assert.equal(r.text, 'ok');
    }
    await waitFor(async () => (await request(health)).json?.connections === 0,
                  10000, 'the sessions to end');
    assert.equal((await handshake()).status, 200, 'places given back');
});
