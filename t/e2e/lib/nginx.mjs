/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

// The real nginx with the real module, on free loopback ports, in a
// throwaway prefix: nothing here touches the system nginx's files.

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, readdirSync,
         existsSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';

const here = dirname(fileURLToPath(import.meta.url));

export const ROOT = resolve(here, '../../..');
export const NGINX = process.env.NGX_WS_NGINX || '/usr/sbin/nginx';
export const MODULE = resolve(process.env.NGX_WS_MODULE
    || join(ROOT, 'build/nginx/ngx_ws_module.so'));

// Lines that mean a worker or the master went wrong, whatever the test did
// (nginx logs EMFILE and temp-file errors at crit).
const BAD_LOG = /\[crit\]|\[alert\]|\[emerg\]|exited on signal/;

const live = new Set();

// Whatever happens to the test process, leave no nginx behind holding
// ports: SIGTERM makes the master stop its workers too.
process.on('exit', () => {
    for (const n of live) {
        try { process.kill(n.proc.pid, 'SIGTERM'); } catch { /* gone */ }
    }
});

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Poll `cond` until it returns a truthy value; fail with `what` after
// `ms`.  Only for functional bounds with generous slack.
export async function waitFor(cond, ms, what, step = 50) {
    const end = Date.now() + ms;
    for (;;) {
        const v = await cond();
        if (v) {
            return v;
        }
        if (Date.now() > end) {
            throw new Error(`timed out after ${ms} ms waiting for ${what}`);
        }
        await sleep(step);
    }
}

// A port the kernel just handed out.  Another process could take it
// before nginx binds it; start() notices that and retries.
export function freePort() {
    return new Promise((res, rej) => {
        const s = net.createServer();
        s.unref();
        s.on('error', rej);
        s.listen(0, '127.0.0.1', () => {
            const { port } = s.address();
            s.close(() => res(port));
        });
    });
}

function canConnect(port) {
    return new Promise((res) => {
        const s = net.connect({ port, host: '127.0.0.1' });
        s.once('connect', () => { s.destroy(); res(true); });
        s.once('error', () => res(false));
    });
}

// Children of `pid`, read from /proc (the workers of an nginx master).
export function childrenOf(pid) {
    const kids = [];
    for (const d of readdirSync('/proc')) {
        if (!/^\d+$/.test(d)) {
            continue;
        }
        let stat;
        try {
            stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        } catch {
            continue;
        }
        // "pid (comm) state ppid ...": comm may hold spaces and parens.
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (Number(f[1]) === pid && f[0] !== 'Z') {
            kids.push(Number(d));
        }
    }
    return kids.sort((a, b) => a - b);
}

// The main context every generated config shares.
function mainConf(prefix, workers = 1) {
    return `
load_module ${MODULE};
worker_processes ${workers};
daemon off;
master_process on;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log ${process.env.NGX_WS_LOG_LEVEL || 'notice'};

events {
    worker_connections 8192;
}
`;
}

// Temp paths inside the prefix: Debian's nginx has /var/lib/nginx/...
// compiled in, and a test must not depend on (or write to) those.
export function httpCommon(prefix) {
    return `
    access_log ${prefix}/access.log;
    client_body_temp_path ${prefix}/tmp/body;
    proxy_temp_path ${prefix}/tmp/proxy;
    fastcgi_temp_path ${prefix}/tmp/fastcgi;
    uwsgi_temp_path ${prefix}/tmp/uwsgi;
    scgi_temp_path ${prefix}/tmp/scgi;
    default_type application/octet-stream;
`;
}

export class Nginx {
    // opts.ports: names of the ports to allocate (default ['http']).
    // opts.http({ports, prefix}): the inside of the http {} block, or
    // opts.conf({ports, prefix, module}): the whole nginx.conf.
    // opts.prepare(prefix): runs once, before the first start (certs...).
    // opts.workers: worker_processes of the generated main context
    // (default 1); start() and reload() wait for that many workers.
    static async start(opts) {
        const prefix = mkdtempSync(join(tmpdir(), 'ngx-ws-e2e-'));
        // Workers run as nobody when the master is root: they must reach
        // their temp paths (request bodies over 16k go to a file).
        chmodSync(prefix, 0o755);
        mkdirSync(join(prefix, 'tmp'));
        if (opts.prepare) {
            await opts.prepare(prefix);
        }
        let lastErr;
        for (let attempt = 0; attempt < 5; attempt++) {
            const n = new Nginx(prefix, opts);
            try {
                await n._start();
                return n;
            } catch (e) {
                lastErr = e;
                if (!e.portTaken) {
                    throw e;
                }
            }
        }
        throw lastErr;
    }

    constructor(prefix, opts) {
        this.prefix = prefix;
        this.opts = opts;
        this.ports = {};
        this.confPath = join(prefix, 'nginx.conf');
        this.errorLogPath = join(prefix, 'error.log');
        this.output = '';
    }

    get port() {
        return this.ports[Object.keys(this.ports)[0]];
    }

    url(path = '/', scheme = 'http', name) {
        const port = name ? this.ports[name] : this.port;
        return `${scheme}://127.0.0.1:${port}${path}`;
    }

    async _start() {
        for (const name of this.opts.ports || ['http']) {
            this.ports[name] = await freePort();
        }
        const ctx = { ports: this.ports, prefix: this.prefix, module: MODULE };
        const conf = this.opts.conf
            ? this.opts.conf(ctx)
            : `${mainConf(this.prefix, this.opts.workers)}
http {
${httpCommon(this.prefix)}
${this.opts.http(ctx)}
}
`;
        writeFileSync(this.confPath, conf);
        writeFileSync(this.errorLogPath, '');

        // -e: the error log before the config is read is ours too, not
        // the compiled-in /var/log/nginx/error.log.
        const proc = spawn(NGINX, ['-p', this.prefix, '-c', this.confPath,
                                   '-e', this.errorLogPath],
                           { stdio: ['ignore', 'pipe', 'pipe'] });
        this.proc = proc;
        this.exited = new Promise((res) => {
            proc.on('exit', (code, signal) => {
                live.delete(this);
                this.exitStatus = { code, signal };
                res(this.exitStatus);
            });
        });
        proc.stdout.on('data', (d) => { this.output += d; });
        proc.stderr.on('data', (d) => { this.output += d; });
        live.add(this);

        const ports = Object.values(this.ports);
        let early = null;
        this.exited.then((s) => { early = s; });
        await waitFor(async () => {
            if (early) {
                return true;
            }
            for (const p of ports) {
                if (!(await canConnect(p))) {
                    return false;
                }
            }
            return true;
        }, 10000, `nginx listening on ${ports.join(', ')}`);

        if (early) {
            const log = this.output + this.errorLog();
            const e = new Error('nginx exited at start '
                                + `(${JSON.stringify(early)}):\n${log}`);
            e.portTaken = /Address already in use/.test(log);
            throw e;
        }
        this.master = proc.pid;
        this.workers = await waitFor(() => {
            const k = childrenOf(this.master);
            return k.length >= this.nworkers || early ? k : null;
        }, 10000, `${this.nworkers} worker(s)`);
        if (early) {
            // What answered was another program on that port.
            const log = this.output + this.errorLog();
            const e = new Error(`nginx exited at start:\n${log}`);
            e.portTaken = /Address already in use/.test(log);
            throw e;
        }
    }

    errorLog() {
        try {
            return readFileSync(this.errorLogPath, 'utf8');
        } catch {
            return '';
        }
    }

    badLogLines() {
        return this.errorLog().split('\n').filter((l) => BAD_LOG.test(l));
    }

    // Workers a generated config starts (opts.workers, default 1).
    get nworkers() {
        return this.opts.workers || 1;
    }

    // SIGHUP to the master; resolves once the new workers run, with the
    // pids of the old ones (still shutting down, maybe).
    async reload() {
        const old = childrenOf(this.master);
        process.kill(this.master, 'SIGHUP');
        const fresh = await waitFor(() => {
            const k = childrenOf(this.master).filter((p) => !old.includes(p));
            return k.length >= this.nworkers ? k : null;
        }, 10000, `${this.nworkers} new worker(s) after SIGHUP`);
        this.workers = fresh;
        return { old, fresh };
    }

    // The old workers of a reload are gone within `ms`.
    async waitGone(pids, ms = 10000) {
        await waitFor(() => {
            const k = childrenOf(this.master);
            return pids.every((p) => !k.includes(p));
        }, ms, `old workers ${pids.join(',')} to exit`);
    }

    // Graceful stop (SIGQUIT); throws if the master does not exit within
    // `ms` or the error log holds a crit, an alert, an emerg or a signal
    // exit.
    async stop(ms = 15000) {
        if (!this.proc) {
            return;
        }
        if (!this.exitStatus) {
            process.kill(this.master, 'SIGQUIT');
            let timer;
            const t = new Promise((r) => {
                timer = setTimeout(() => r('timeout'), ms);
            });
            const first = await Promise.race([this.exited, t]);
            clearTimeout(timer);
            if (first === 'timeout') {
                process.kill(this.master, 'SIGTERM');
                await this.exited;
                throw new Error(`nginx did not quit within ${ms} ms:\n`
                                + this.errorLog());
            }
        }
        const bad = this.badLogLines();
        if (bad.length) {
            throw new Error(`error log of ${this.prefix} has:\n`
                            + bad.join('\n'));
        }
        if (this.exitStatus.code !== 0) {
            throw new Error('nginx exited with '
                            + `${JSON.stringify(this.exitStatus)}:\n`
                            + this.output + this.errorLog());
        }
        if (!process.env.NGX_WS_KEEP) {
            rmSync(this.prefix, { recursive: true, force: true });
        }
    }
}

// A self-signed certificate for 127.0.0.1/localhost, made now.
export function makeCert(dir) {
    const key = join(dir, 'cert.key');
    const crt = join(dir, 'cert.pem');
    if (!existsSync(crt)) {
        execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048',
                                 '-nodes', '-subj', '/CN=localhost',
                                 '-days', '1', '-keyout', key, '-out', crt],
                     { stdio: 'ignore' });
    }
    return { key, crt };
}

// The /socket.io/, push and health locations most tests use.
export function wsServer({ listen, extra = '', locationExtra = '' }) {
    return `
    server {
        listen ${listen};
        server_name localhost;
        ${extra}

        location /socket.io/ {
            ws_socketio;
            ws_namespace /chat;
            ws_namespace /notifications;
            ${locationExtra}
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
`;
}
