/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

// The demo in a real browser: nginx runs conf-examples/demo.conf (the
// template `make run` serves), headless Chromium loads the page, a push
// over HTTP shows up in the page.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, mkdtempSync, rmSync, mkdirSync,
         copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { Nginx, ROOT, waitFor } from './lib/nginx.mjs';
import { io, FAST, connected, post, take, record, closeAll }
    from './lib/sio.mjs';

const DIST = 't/e2e/node_modules/socket.io-client/dist';
const CHROMIUM = process.env.NGX_WS_CHROMIUM || '/usr/bin/chromium';

let ngx;
let browser;
let profile;
const opened = [];

function demoConf({ ports, prefix, module }) {
    const t = readFileSync(join(ROOT, 'conf-examples/demo.conf'), 'utf8');
    const values = {
        USER: '',
        MODULE: module,
        PREFIX: prefix,
        LISTEN: `127.0.0.1:${ports.http}`,
        DEMO_ROOT: join(prefix, 'demo'),
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

// The files the demo serves, copied into the prefix: the workers (nobody,
// under a root master) may not be able to read a checkout in /root.
function stageFiles(prefix) {
    for (const [from, to] of [
        ['conf-examples/demo/index.html', 'demo/index.html'],
        [`${DIST}/socket.io.min.js`, 'dist/socket.io.min.js'],
        [`${DIST}/socket.io.min.js.map`, 'dist/socket.io.min.js.map'],
    ]) {
        mkdirSync(dirname(join(prefix, to)), { recursive: true });
        copyFileSync(join(ROOT, from), join(prefix, to));
    }
}

// make test installs Chromium (TEST_PKGS): without it this file fails.
before(async () => {
    assert.ok(existsSync(CHROMIUM),
              `needed: Chromium at ${CHROMIUM} (Debian package chromium)`);
    ngx = await Nginx.start({ conf: demoConf, prepare: stageFiles });
    const { chromium } = await import('playwright-core');
    profile = mkdtempSync(join(tmpdir(), 'ngx-ws-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: ['--headless', '--no-sandbox', '--disable-gpu',
               '--disable-quic', '--no-first-run',
               '--disable-background-networking',
               '--disable-component-update', '--disable-sync'],
    });
});

after(async () => {
    closeAll(opened);
    await browser?.close();
    if (profile) {
        rmSync(profile, { recursive: true, force: true });
    }
    await ngx?.stop();
});

test('the demo page shows a pushed notification', async () => {
    const page = browser.pages()[0] || await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));

    const res = await page.goto(ngx.url('/'));
    assert.equal(res.status(), 200);
    await page.waitForSelector(
        '#state-notifications[data-state="connected"]', { timeout: 15000 });
    await page.waitForSelector('#state-chat[data-state="connected"]',
                               { timeout: 15000 });

    // Both namespaces on one connection, as the page's comment says.
    const h = await waitFor(async () => {
        const r = await fetch(ngx.url('/health'));
        const j = await r.json();
        return j.namespaces['/notifications'] === 1 ? j : null;
    }, 5000, 'the page\'s sockets in /health');
    assert.equal(h.connections, 1);
    assert.equal(h.namespaces['/chat'], 1);

    // The README's push, seen by the page and by a Node client alike.
    const s = io(ngx.url('/notifications'), { ...FAST, forceNew: true });
    record(s);
    opened.push(s);
    await connected(s);
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

    // /chat messages and binary show too.
    await post(ngx.url('/_ws/push'),
               { nsp: '/chat', event: 'message', data: ['hi from the test'] });
    await post(ngx.url('/_ws/push'),
               { nsp: '/notifications', event: 'file',
                 data: [{ $binary: 'AQID' }] });
    await page.waitForFunction(() =>
        document.querySelector('#chat').textContent
            .includes('hi from the test'), null, { timeout: 15000 });
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
    assert.deepEqual(errors, []);
});
