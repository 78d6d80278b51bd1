/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

// The demo in a real browser: nginx runs conf-examples/demo.conf (the
// template `make run` serves) with the chat app of conf-examples/chat-app
// behind it, as run-demo.sh starts them; headless Chromium loads the page.
// A logged-in page gets pushes over HTTP; two users chat in a room
// (acks, pushes to the others, typing relayed by nginx); a page without
// the session cookie is refused /notifications by the app's connect hook.

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
        LISTEN: `127.0.0.1:${ports.http}`,
        APP: `127.0.0.1:${appPort}`,
        CLIENT_DIST: join(prefix, 'dist'),
    };
    const conf = t.replace(/@([A-Z_]+)@/g, (m, k) => {
        assert.ok(k in values, `unknown placeholder ${m} in demo.conf`);
        return values[k];
    });
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
async function newContext() {
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
    return ctx;
}

// The demo page in a new browser, its errors collected in page.errors.
async function openPage() {
    const ctx = await newContext();
    const page = ctx.pages()[0] || await ctx.newPage();
    page.errors = [];
    page.on('pageerror', (e) => page.errors.push(String(e)));
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

// make test installs Chromium (TEST_PKGS): without it this file fails.
before(async () => {
    assert.ok(existsSync(CHROMIUM),
              `needed: Chromium at ${CHROMIUM} (Debian package chromium)`);
    await startApp();
    ngx = await Nginx.start({ conf: demoConf, prepare: stageFiles });
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
    // The demo runs a worker per core: "matched" counts the sockets of
    // the worker that answered; both get the push whichever it was.
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

test('the chat: rooms, acked messages pushed to the others, typing',
     async () => {
    const ann = await openPage();
    const bob = await openPage();
    await logIn(ann, 'ann');
    await logIn(bob, 'bob');
    for (const p of [ann, bob]) {
        await p.waitForSelector('#state-chat[data-state="connected"]',
                                { timeout: 15000 });
    }

    // Joins go through the event hook; the app's push joins the room and
    // tells those already in it.
    await joinRoom(ann, 'lobby');
    await joinRoom(bob, 'lobby');
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

    // Saved: a client joining later gets it in the join's history.
    const carl = io(ngx.url('/chat'),
                    { ...FAST, forceNew: true,
                      extraHeaders: { Cookie: await sessionCookie('carl') } });
    opened.push(carl);
    await connected(carl);
    const res = await carl.timeout(5000).emitWithAck('join', 'lobby');
    assert.equal(res.ok, true);
    assert.deepEqual(res.history.map((m) => [m.user, m.text]),
                     [['ann', 'hello bob']]);

    // Leaving: through the event hook too; bob sees it.
    await ann.click('#rooms .room[data-room="lobby"] .leave');
    await bob.waitForFunction(() =>
        document.querySelector('#messages').textContent
            .includes('ann left'), null, { timeout: 15000 });

    assert.deepEqual(ann.errors, []);
    assert.deepEqual(bob.errors, []);
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
