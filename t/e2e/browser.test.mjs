/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

// The demo in a real browser: nginx runs conf-examples/demo.conf (the
// template `make run` serves) with the chat app of conf-examples/chat-app
// behind it, as run-demo.sh starts them; headless Chromium loads the page.
// The page uses socket.io-client's default transports: it opens over HTTP
// long-polling and upgrades to a WebSocket.  A logged-in page gets pushes
// over HTTP; two users chat in a room (acks, pushes to the others, typing
// relayed by nginx), once as the page runs and once in pages that cannot
// open a WebSocket (they stay on polling); a page without the session
// cookie is refused /notifications by the app's connect hook.  Two workers
// and a reuseport listener: a page's requests (its polling GETs and POSTs,
// its WebSocket) land on either worker, whichever holds its session.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, mkdtempSync, rmSync, mkdirSync,
         copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { Nginx, ROOT, waitFor, freePort } from './lib/nginx.mjs';
import { io, FAST, connected, post, take, record, closeAll }
    from './lib/sio.mjs';

const DIST = 't/e2e/node_modules/socket.io-client/dist';
const CHROMIUM = process.env.NGX_WS_CHROMIUM || '/usr/bin/chromium';
const WORKERS = 2;

let ngx;
let app;
let appPort;
let appOutput = '';
const contexts = [];
const profiles = [];
const opened = [];

// Whatever happens to the test process, the app does not outlive it.
process.on('exit', () => app?.kill('SIGTERM'));

// The chat app as run-demo.sh starts it, on a free port.
async function startApp() {
    appPort = await freePort();
    app = spawn(process.execPath,
                [join(ROOT, 'conf-examples/chat-app/server.mjs'),
                 '--host', '127.0.0.1', '--port', String(appPort)],
                { stdio: ['ignore', 'pipe', 'pipe'] });
    app.stdout.on('data', (d) => { appOutput += d; });
    app.stderr.on('data', (d) => { appOutput += d; });
    await waitFor(() => /listening/.test(appOutput) || app.exitCode !== null,
                  10000, 'the chat app to listen');
    assert.equal(app.exitCode, null, `the chat app exited:\n${appOutput}`);
}

function demoConf({ ports, prefix, module }) {
    const t = readFileSync(join(ROOT, 'conf-examples/demo.conf'), 'utf8');
    const values = {
        USER: '',
        MODULE: module,
        PREFIX: prefix,
        // reuseport: the kernel spreads the connections over the workers,
        // so that a session's requests come to both.
        LISTEN: `127.0.0.1:${ports.http} reuseport`,
        APP: `127.0.0.1:${appPort}`,
        CLIENT_DIST: join(prefix, 'dist'),
    };
    let conf = t.replace(/@([A-Z_]+)@/g, (m, k) => {
        assert.ok(k in values, `unknown placeholder ${m} in demo.conf`);
        return values[k];
    });
    // A worker per core in the demo: two here, whatever the machine has.
    assert.match(conf, /^worker_processes auto;$/m);
    conf = conf.replace(/^worker_processes auto;$/m,
                        `worker_processes ${WORKERS};`);
    // Which worker served each request (the sid is in its query string).
    const log = `access_log ${prefix}/access.log;`;
    assert.ok(conf.includes(log));
    conf = conf.replace(log, 'log_format pids \'$pid $status "$request"\';\n'
                        + `    access_log ${prefix}/access.log pids;`);
    // Nothing of the system nginx's is used (comments aside).
    assert.doesNotMatch(conf.replace(/#.*/g, ''),
                        /\/etc\/nginx|\/var\/lib\/nginx|\/run\/nginx/);
    return conf;
}

// The files nginx serves itself, copied into the prefix: the workers
// (nobody, under a root master) may not be able to read a checkout in /root.
function stageFiles(prefix) {
    for (const [from, to] of [
        [`${DIST}/socket.io.min.js`, 'dist/socket.io.min.js'],
        [`${DIST}/socket.io.min.js.map`, 'dist/socket.io.min.js.map'],
    ]) {
        mkdirSync(dirname(join(prefix, to)), { recursive: true });
        copyFileSync(join(ROOT, from), join(prefix, to));
    }
}

// A browser of its own (profile, cookies): one per user of the demo.
// noWebSocket: its pages have no WebSocket (undefined before any of their
// scripts runs), as a browser without one: socket.io-client's probe of the
// upgrade fails and the connection stays on polling.
async function newContext({ noWebSocket = false } = {}) {
    const { chromium } = await import('playwright-core');
    const profile = mkdtempSync(join(tmpdir(), 'ngx-ws-chromium-'));
    profiles.push(profile);
    const ctx = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: ['--headless', '--no-sandbox', '--disable-gpu',
               '--disable-quic', '--no-first-run',
               '--disable-background-networking',
               '--disable-component-update', '--disable-sync'],
    });
    contexts.push(ctx);
    if (noWebSocket) {
        await ctx.addInitScript(() => { window.WebSocket = undefined; });
    }
    return ctx;
}

// The demo page in a new browser, its errors collected in page.errors:
// uncaught exceptions, error answers (but the favicon's 404) and requests
// that failed (but those a navigation cancels: the login reloads the page
// with a polling GET under way).
async function openPage(opts) {
    const ctx = await newContext(opts);
    const page = ctx.pages()[0] || await ctx.newPage();
    page.errors = [];
    page.on('pageerror', (e) => page.errors.push(String(e)));
    page.on('response', (r) => {
        if (r.status() >= 400
            && new URL(r.url()).pathname !== '/favicon.ico') {
            page.errors.push(`${r.status()} ${r.request().method()} `
                             + r.url());
        }
    });
    page.on('requestfailed', (q) => {
        if (q.failure()?.errorText !== 'net::ERR_ABORTED') {
            page.errors.push(`${q.failure()?.errorText} ${q.method()} `
                             + q.url());
        }
    });
    const res = await page.goto(ngx.url('/'));
    assert.equal(res.status(), 200);
    return page;
}

// Logs in with the page's form: the app sets the cookie, the page reloads.
async function logIn(page, name) {
    await page.fill('#name', name);
    await Promise.all([page.waitForNavigation(), page.click('#login')]);
    await page.waitForSelector('#user');
    assert.equal(await page.textContent('#user'), name);
}

async function joinRoom(page, room) {
    await page.fill('#room', room);
    await page.click('#join');
    await page.waitForSelector(`#rooms .room.active[data-room="${room}"]`,
                               { timeout: 15000 });
}

const textOf = (page, sel) =>
    page.evaluate((s) => document.querySelector(s).textContent, sel);

// The page's Engine.IO connection: the transport it shows (#transport),
// the client's own view of it, and its sid.
const engineOf = (page) => page.evaluate(() => ({
    shown: document.querySelector('#transport span').textContent,
    transport: chat.io.engine.transport.name,
    sid: chat.io.engine.id,
}));

// The page opened over polling and upgraded to a WebSocket.
async function upgraded(page) {
    await page.waitForSelector('#transport[data-transport="websocket"]',
                               { timeout: 15000 });
    const e = await engineOf(page);
    assert.equal(e.shown, 'polling → websocket');
    assert.equal(e.transport, 'websocket');
    return e;
}

// The workers that served each sid's requests, from the access log.
function workersBySid() {
    const by = new Map();
    const log = readFileSync(join(ngx.prefix, 'access.log'), 'utf8');
    for (const line of log.split('\n')) {
        const m = /^(\d+) \d+ ".*[?&]sid=([^& ]+)/.exec(line);
        if (m) {
            if (!by.has(m[2])) {
                by.set(m[2], new Set());
            }
            by.get(m[2]).add(m[1]);
        }
    }
    return by;
}

// make test installs Chromium (TEST_PKGS): without it this file fails.
before(async () => {
    assert.ok(existsSync(CHROMIUM),
              `needed: Chromium at ${CHROMIUM} (Debian package chromium)`);
    await startApp();
    ngx = await Nginx.start({ conf: demoConf, prepare: stageFiles,
                              workers: WORKERS });
});

after(async () => {
    closeAll(opened);
    for (const ctx of contexts) {
        await ctx.close();
    }
    for (const p of profiles) {
        rmSync(p, { recursive: true, force: true });
    }
    await ngx?.stop();
    if (app && app.exitCode === null) {
        const gone = new Promise((r) => app.once('exit', r));
        app.kill('SIGTERM');
        await gone;
    }
});

// A Node client with a session of its own, as a logged-in browser has.
async function sessionCookie(name) {
    const r = await fetch(ngx.url('/login'), {
        method: 'POST', redirect: 'manual',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: `name=${name}`,
    });
    assert.equal(r.status, 303);
    return r.headers.get('set-cookie').split(';')[0];
}

test('the demo page shows a pushed notification', async () => {
    const page = await openPage();
    await logIn(page, 'alice');
    await page.waitForSelector(
        '#state-notifications[data-state="connected"]', { timeout: 15000 });
    await page.waitForSelector('#state-chat[data-state="connected"]',
                               { timeout: 15000 });
    // Default transports: polling first, then the WebSocket.
    await upgraded(page);

    // The app's connect hook greets the user.
    await page.waitForFunction(() =>
        document.querySelector('#notifications').textContent
            .includes('Signed in as alice'), null, { timeout: 15000 });

    // Both namespaces on one connection, as the page's comment says (the
    // page before the login has gone).
    await waitFor(async () => {
        const r = await fetch(ngx.url('/health'));
        const j = await r.json();
        return j.namespaces['/notifications'] === 1
            && j.namespaces['/chat'] === 1 && j.connections === 1;
    }, 5000, 'the page\'s sockets, on one connection, in /health');

    // The README's push, seen by the page and by a Node client alike (the
    // app lets only a session into /notifications).
    const s = io(ngx.url('/notifications'),
                 { ...FAST, forceNew: true,
                   extraHeaders: { Cookie: await sessionCookie('node') } });
    record(s);
    opened.push(s);
    await connected(s);
    assert.deepEqual(await take(s, 'notification'),
                     [{ text: 'Signed in as node: notifications are on' }]);
    const body = '{"nsp":"/notifications","event":"notification",'
        + '"data":[{"text":"Hello from curl"}]}';
    const r = await post(ngx.url('/_ws/push'), body);
    assert.equal(r.status, 200, r.text);
    // Two workers: "matched" counts the sockets of the worker that
    // answered; both get the push whichever it was.
    assert.ok(r.json.matched >= 0 && r.json.matched <= 2, r.text);
    assert.deepEqual(await take(s, 'notification'),
                     [{ text: 'Hello from curl' }]);
    await page.waitForFunction(() =>
        document.querySelector('#notifications').textContent
            .includes('Hello from curl'), null, { timeout: 15000 });

    // /chat pushes (to a room the page joined) and binary show too.
    await joinRoom(page, 'general');
    await post(ngx.url('/_ws/push'),
               { nsp: '/chat', rooms: ['general'], event: 'message',
                 data: ['hi from the test'] });
    await post(ngx.url('/_ws/push'),
               { nsp: '/notifications', event: 'file',
                 data: [{ $binary: 'AQID' }] });
    await page.waitForFunction(() =>
        document.querySelector('#messages').textContent
            .includes('pushed: hi from the test'), null, { timeout: 15000 });
    await page.waitForFunction(() =>
        document.querySelector('#notifications').textContent
            .includes('[binary, 3 bytes]'), null, { timeout: 15000 });

    // The bundle came from the npm package, byte for byte.
    const js = await (await fetch(ngx.url('/socket.io.min.js'))).text();
    assert.equal(js, readFileSync(join(ROOT, DIST, 'socket.io.min.js'),
                                  'utf8'));

    // The demo keeps its push endpoint loopback-only.
    assert.match(readFileSync(ngx.confPath, 'utf8'),
                 /location = \/_ws\/push \{\s*allow 127\.0\.0\.1;\s*deny all;/);
    assert.deepEqual(page.errors, []);
});

// Two users chat in `room`: joins and leaves through the event hook,
// typing relayed by nginx, acked messages pushed to the other one, both
// ways.  Over a WebSocket after the upgrade, or (noWebSocket) over
// polling throughout.
async function chat({ room, noWebSocket }) {
    const ann = await openPage({ noWebSocket });
    const bob = await openPage({ noWebSocket });
    await logIn(ann, 'ann');
    await logIn(bob, 'bob');
    for (const [p, name] of [[ann, 'ann'], [bob, 'bob']]) {
        await p.waitForSelector('#state-chat[data-state="connected"]',
                                { timeout: 15000 });
        // /notifications on the same connection: the connect hook's push.
        await p.waitForFunction((n) =>
            document.querySelector('#notifications').textContent
                .includes(`Signed in as ${n}`), name, { timeout: 15000 });
        if (noWebSocket) {
            assert.equal(await p.evaluate(() => typeof WebSocket),
                         'undefined');
        } else {
            await upgraded(p);
        }
    }

    // Joins go through the event hook; the app's push joins the room and
    // tells those already in it.
    await joinRoom(ann, room);
    await joinRoom(bob, room);
    await ann.waitForFunction(() =>
        document.querySelector('#messages').textContent
            .includes('bob joined'), null, { timeout: 15000 });

    // Typing: relayed by nginx (ws_relay typing room=0) to bob.
    await ann.locator('#message').pressSequentially('hello bob');
    await bob.waitForFunction(() =>
        document.querySelector('#typing').textContent === 'ann is typing…',
        null, { timeout: 15000 });
    assert.equal(await textOf(ann, '#typing'), '',
                 'the sender is not told of its own typing');

    // The message: acked by the app (saved), pushed to bob, not back to ann.
    await ann.press('#message', 'Enter');
    const acked = await ann.waitForSelector(
        '#messages li[data-state="acked"]', { timeout: 15000 });
    assert.match(await acked.textContent(), /ann.*hello bob.*✓ saved/);
    assert.ok(Number(await acked.getAttribute('data-id')) > 0);
    await bob.waitForFunction(() => [...document.querySelectorAll(
        '#messages li.msg')].some((li) =>
        li.textContent.includes('annhello bob')), null, { timeout: 15000 });
    assert.equal(await textOf(bob, '#typing'), '',
                 'the message ends the typing indicator');
    const annMsgs = await ann.$$eval('#messages li.msg',
                                     (l) => l.map((li) => li.textContent));
    assert.equal(annMsgs.filter((t) => t.includes('hello bob')).length, 1,
                 'the sender gets its message once: "except" the sender');

    // And back: bob answers, ann sees typing and the message.
    await bob.locator('#message').pressSequentially('hi ann');
    await ann.waitForFunction(() =>
        document.querySelector('#typing').textContent === 'bob is typing…',
        null, { timeout: 15000 });
    await bob.press('#message', 'Enter');
    await bob.waitForFunction(() => [...document.querySelectorAll(
        '#messages li[data-state="acked"]')].some((li) =>
        li.textContent.includes('hi ann')), null, { timeout: 15000 });
    await ann.waitForFunction(() => [...document.querySelectorAll(
        '#messages li.msg')].some((li) =>
        li.textContent.includes('bobhi ann')), null, { timeout: 15000 });
    assert.equal(await textOf(ann, '#typing'), '');

    // Saved: a client joining later gets them in the join's history.
    const carl = io(ngx.url('/chat'),
                    { ...FAST, forceNew: true,
                      extraHeaders: { Cookie: await sessionCookie('carl') } });
    opened.push(carl);
    await connected(carl);
    const res = await carl.timeout(5000).emitWithAck('join', room);
    assert.equal(res.ok, true);
    assert.deepEqual(res.history.map((m) => [m.user, m.text]),
                     [['ann', 'hello bob'], ['bob', 'hi ann']]);

    // Leaving: through the event hook too; bob sees it.
    await ann.click(`#rooms .room[data-room="${room}"] .leave`);
    await bob.waitForFunction(() =>
        document.querySelector('#messages').textContent
            .includes('ann left'), null, { timeout: 15000 });

    // Still on the transport each had: the upgraded WebSocket, or polling
    // (never offered one it could take).
    for (const p of [ann, bob]) {
        const e = await engineOf(p);
        const want = noWebSocket ? 'polling' : 'websocket';
        assert.equal(e.transport, want);
        assert.equal(e.shown, noWebSocket ? 'polling'
                                          : 'polling → websocket');
        assert.equal(await p.getAttribute('#transport', 'data-transport'),
                     want);
    }
    assert.deepEqual(ann.errors, []);
    assert.deepEqual(bob.errors, []);
    return [ann, bob];
}

test('the chat: rooms, acked messages pushed to the others, typing',
     async () => {
    await chat({ room: 'lobby', noWebSocket: false });
});

test('the chat without WebSocket: the pages stay on polling, messages '
     + 'both ways', async (t) => {
    const pages = await chat({ room: 'polling-lobby', noWebSocket: true });
    // Which workers served each page's session (a diagnostic: the
    // kernel's spread of the connections decides).
    const by = workersBySid();
    for (const p of pages) {
        const { sid } = await engineOf(p);
        t.diagnostic(`sid ${sid}: workers ${[...(by.get(sid) || [])]}`);
    }
});

test('without the session cookie, /notifications refuses the page',
     async () => {
    const page = await openPage();
    await page.waitForSelector('#login-form');
    await page.waitForSelector(
        '#state-notifications[data-state="error"]', { timeout: 15000 });
    assert.match(await textOf(page, '#state-notifications'),
                 /not logged in/);
    // /chat lets a guest read, not post.
    await page.waitForSelector('#state-chat[data-state="connected"]',
                               { timeout: 15000 });
    await joinRoom(page, 'lobby');
    assert.equal(await page.isDisabled('#message'), true);
    const c = io(ngx.url('/chat'), { ...FAST, forceNew: true });
    opened.push(c);
    await connected(c);
    await c.timeout(5000).emitWithAck('join', 'lobby');
    assert.deepEqual(await c.timeout(5000).emitWithAck('message', 'lobby',
                                                       'hi'),
                     { ok: false, error: 'log in to post' });

    // And a Node client alike: connect_error with the app's message, data.
    const n = io(ngx.url('/notifications'),
                 { ...FAST, forceNew: true, reconnection: false });
    opened.push(n);
    await assert.rejects(connected(n), (e) => {
        assert.equal(e.message, 'not logged in');
        assert.deepEqual(e.data, { login: '/' });
        return true;
    });
    assert.deepEqual(page.errors, []);
});
