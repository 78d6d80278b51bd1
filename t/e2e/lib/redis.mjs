/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

// redis-server for the tests: a single server, or a Redis Cluster of
// masters made with redis-cli --cluster create, each on a free port of
// its own with its own data directory (never the system's service).

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { waitFor, freePort } from './nginx.mjs';

function serve(port, dir, extra = []) {
    return spawn('redis-server', ['--port', String(port), '--bind',
                                  '127.0.0.1', '--save', '', '--appendonly',
                                  'no', '--dir', dir, ...extra],
                 { stdio: 'ignore' });
}

export function cli(port, ...args) {
    return execFileSync('redis-cli', ['-p', String(port), ...args],
                        { encoding: 'utf8' }).trim();
}

async function answers(port) {
    await waitFor(async () => {
        const c = createClient({ url: `redis://127.0.0.1:${port}` });
        c.on('error', () => {});
        try {
            await c.connect();
            await c.quit();
            return true;
        } catch {
            return false;
        }
    }, 10000, `redis-server on ${port}`);
}

// A single server; stop() kills it, start() brings it back on its port.
export async function startRedis() {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'ngx-ws-redis-'));
    const redis = {
        port,
        url: `redis://127.0.0.1:${port}`,
        proc: null,
        async start() {
            this.proc = serve(port, dir);
            await answers(port);
        },
        stop() {
            this.proc?.kill('SIGKILL');
            this.proc = null;
        },
    };
    await redis.start();
    return redis;
}

export async function startCluster(n = 3) {
    const ports = [];
    const procs = [];
    for (let i = 0; i < n; i++) {
        const port = await freePort();
        const dir = mkdtempSync(join(tmpdir(), 'ngx-ws-cluster-'));
        ports.push(port);
        procs.push(serve(port, dir, ['--cluster-enabled', 'yes',
                                     '--cluster-config-file',
                                     join(dir, 'nodes.conf'),
                                     '--cluster-node-timeout', '2000']));
    }
    for (const port of ports) {
        await answers(port);
    }
    execFileSync('redis-cli', ['--cluster', 'create',
                               ...ports.map((p) => `127.0.0.1:${p}`),
                               '--cluster-replicas', '0', '--cluster-yes'],
                 { stdio: 'ignore' });
    await waitFor(() => ports.every(
        (p) => cli(p, 'CLUSTER', 'INFO').includes('cluster_state:ok')),
                  20000, 'the cluster to be ok');
    return {
        ports,
        rootNodes: ports.map((p) => ({ url: `redis://127.0.0.1:${p}` })),
        stop: () => procs.forEach((p) => p.kill('SIGKILL')),
    };
}

// The node (port) that serves a key's slot, and a node's id.
export function slotOwner(ports, key) {
    const slot = Number(cli(ports[0], 'CLUSTER', 'KEYSLOT', key));
    const lines = cli(ports[0], 'CLUSTER', 'NODES').split('\n');
    for (const line of lines) {
        const f = line.split(' ');
        const port = Number(f[1].split(':')[1].split('@')[0]);
        for (const range of f.slice(8)) {
            const [a, b = a] = range.split('-').map(Number);
            if (slot >= a && slot <= b) {
                return { slot, port, id: f[0] };
            }
        }
    }
    throw new Error(`no node serves slot ${slot}`);
}

export function nodeId(port) {
    return cli(port, 'CLUSTER', 'MYID');
}

// An empty slot handed from one master to another, as
// redis-cli --cluster reshard does it (no keys to migrate).
export function moveSlot(ports, slot, fromPort, toPort) {
    const to = nodeId(toPort);
    const from = nodeId(fromPort);
    cli(toPort, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', from);
    cli(fromPort, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', to);
    for (const p of [fromPort, toPort, ...ports]) {
        cli(p, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', to);
    }
}
