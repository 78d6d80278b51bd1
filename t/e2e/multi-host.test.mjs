/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

// conf-examples/multi-host/run.sh (what `make multi-host` runs), on free
// ports: both hosts join Redis, a push on one host reaches a client of the
// other, two users of the chat app on different hosts chat through the
// hooks, and SIGINT leaves nothing running (nginx, redis-server, node).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { ROOT, NGINX, MODULE, waitFor, freePort, childrenOf } from
    './lib/nginx.mjs';
import { io, connected, record, received, post, once, closeAll } from
    './lib/sio.mjs';

const RUN = join(ROOT, 'conf-examples/multi-host/run.sh');
const haveRedis = (() => {
    try {
        execFileSync('sh', ['-c', 'command -v redis-server'],
                     { stdio: 'ignore' });
        return true;
    } catch {
        return false;
    }
})();

let run;
let output = '';
let prefix;
const ports = {};
const opened = [];

// Whatever happens to the test process, run.sh stops what it started.
process.on('exit', () => {
    if (run && run.exitCode === null) {
        try { run.kill('SIGTERM'); } catch { /* gone */ }
    }
});

const base = (n) => `http://127.0.0.1:${ports[`host${n}`]}`;

// run.sh and every process under it (nginx masters and workers,
// redis-server, the chat app), from /proc.
function descendants(pid) {
    const out = [];
    for (const kid of childrenOf(pid)) {
        out.push(kid, ...descendants(kid));
    }
    return out;
}

function alive(pid) {
    try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
    } catch {
        return false;
    }
}

function listening(port) {
    return new Promise((res) => {
        const s = net.connect({ port, host: '127.0.0.1' });
        s.once('connect', () => { s.destroy(); res(true); });
        s.once('error', () => res(false));
    });
}

async function health(n) {
    const r = await fetch(`${base(n)}/health`);
    return r.json();
}

async function login(n, name) {
    const r = await fetch(`${base(n)}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: `name=${name}`,
    });
    assert.equal(r.status, 303);
    return r.headers.get('set-cookie').split(';')[0];
}

function client(n, nsp, cookie) {
    const s = io(`${base(n)}${nsp}`, {
        forceNew: true,
        transports: ['websocket'],
        reconnection: false,
        extraHeaders: cookie ? { Cookie: cookie } : {},
    });
    record(s);
    opened.push(s);
    return s;
}

before(async () => {
    // make test installs redis-server: without it this fails, never skips
    assert.ok(haveRedis, 'redis-server is not installed (apt-get install '
                         + 'redis-server)');
    // Four distinct free ports (freePort may hand one out twice).
    const seen = new Set();
    for (const name of ['host1', 'host2', 'app', 'redis']) {
        let p;
        do {
            p = await freePort();
        } while (seen.has(p));
        seen.add(p);
        ports[name] = p;
    }
    prefix = mkdtempSync(join(tmpdir(), 'ngx-ws-multi-host-'));
    run = spawn(RUN, [NGINX, MODULE, prefix, '2'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
            ...process.env,
            MULTI_HOST_PORT1: String(ports.host1),
            MULTI_HOST_PORT2: String(ports.host2),
            MULTI_HOST_APP_PORT: String(ports.app),
            MULTI_HOST_REDIS_PORT: String(ports.redis),
        },
    });
    run.stdout.on('data', (d) => { output += d; });
    run.stderr.on('data', (d) => { output += d; });
    await waitFor(() => /Stop: +Ctrl-C/.test(output) || run.exitCode !== null,
                  30000, 'run.sh to say both hosts are up');
    assert.equal(run.exitCode, null, `run.sh exited:\n${output}`);
});

after(async () => {
    closeAll(opened);
    if (run && run.exitCode === null) {
        run.kill('SIGTERM');
        await waitFor(() => run.exitCode !== null, 15000, 'run.sh to stop');
    }
    if (prefix && !process.env.NGX_WS_KEEP) {
        rmSync(prefix, { recursive: true, force: true });
    }
});

test('run.sh: two hosts in Redis; a push and a chat cross between them; '
     + 'SIGINT stops everything', { timeout: 60000 }, async () => {
    // Each host a member of the cluster, with its two workers.
    for (const n of [1, 2]) {
        const h = await health(n);
        assert.equal(h.redis?.state, 'up', JSON.stringify(h));
        assert.equal(h.workers.length, 2, JSON.stringify(h));
    }

    // The demo's push endpoint: answered by host 1, received on host 2.
    const guest = client(2, '/chat');
    await connected(guest);
    const r = await post(`${base(1)}/_ws/push`,
                         { nsp: '/chat', event: 'news', data: ['from 1'] });
    assert.equal(r.status, 200, r.text);
    await waitFor(() => received(guest, 'news').length === 1, 5000,
                  'the push from host 1 on host 2');
    assert.deepEqual(received(guest, 'news'), [['from 1']]);

    // The demo's hooks: alice on host 1, bob on host 2, one app behind
    // both; the hooks' pushes cross through Redis both ways.
    const alice = client(1, '/chat', await login(1, 'alice'));
    const bob = client(2, '/chat', await login(2, 'bob'));
    const bobNote = client(2, '/notifications', await login(2, 'bob'));
    await connected(alice);
    await connected(bob);
    await connected(bobNote);
    for (const s of [alice, bob]) {
        const ack = await s.timeout(5000).emitWithAck('join', 'general');
        assert.equal(ack.ok, true, JSON.stringify(ack));
    }
    const toBob = once(bob, 'message', 5000);
    const ackA = await alice.timeout(5000)
        .emitWithAck('message', 'general', 'hi from host 1');
    assert.equal(ackA.ok, true, JSON.stringify(ackA));
    assert.equal((await toBob)[0].text, 'hi from host 1');
    const toAlice = once(alice, 'message', 5000);
    await bob.timeout(5000).emitWithAck('message', 'general',
                                        'hi from host 2');
    const [msg] = await toAlice;
    assert.deepEqual([msg.user, msg.text], ['bob', 'hi from host 2']);
    // nginx alone (ws_relay), across hosts too
    const typing = once(bob, 'typing', 5000);
    alice.emit('typing', 'general');
    assert.deepEqual(await typing, ['general']);
    // a notification pushed on host 1 to bob's room, whose page is on 2
    const note = once(bobNote, 'notification', 5000);
    await post(`${base(1)}/_ws/push`,
               { nsp: '/notifications', rooms: ['user:bob'],
                 event: 'notification', data: [{ text: 'for bob' }] });
    assert.equal((await note)[0].text, 'for bob');
    closeAll(opened);

    // SIGINT (Ctrl-C): run.sh stops everything it started.
    const family = descendants(run.pid);
    // 2 masters, 4 workers, redis-server, the app
    assert.ok(family.length >= 8, `processes under run.sh: ${family}`);
    run.kill('SIGINT');
    await waitFor(() => run.exitCode !== null, 15000, 'run.sh to stop');
    assert.equal(run.exitCode, 0, output);
    await waitFor(() => family.every((p) => !alive(p)), 5000,
                  `nothing left of ${family}`);
    for (const [name, port] of Object.entries(ports)) {
        assert.equal(await listening(port), false, `${name} on ${port}`);
    }
    // Nothing went wrong in nginx meanwhile.
    for (const n of [1, 2]) {
        const log = join(prefix, `host${n}`, 'error.log');
        assert.ok(existsSync(log));
        assert.doesNotMatch(readFileSync(log, 'utf8'),
                            /\[crit\]|\[alert\]|\[emerg\]|exited on signal/);
    }
});
