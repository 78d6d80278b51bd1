/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * The benchmark's bookkeeping, for bench/run.sh:
 *
 *   node report.js merge P99_MS FILE...
 *       merges the JSON lines of several loadgen processes of one run
 *       (the first file is the publisher for fanout) into one line;
 *   node report.js report RAW.jsonl OUT.json LATEST.json META_JSON
 *       takes the medians of the runs, prints the table, writes the JSON.
 */

'use strict';

const fs = require('node:fs');

function readJson(file) {
    try {
        const text = fs.readFileSync(file, 'utf8').trim();
        return text ? JSON.parse(text.split('\n')[0]) : null;
    } catch (e) {
        return null;
    }
}

/* ----------------------------------------------------------------- merge */

function pct(hist, p) {
    const n = hist.reduce((a, [, c]) => a + c, 0);
    const want = Math.max(1, Math.ceil(n * p / 100));
    let seen = 0;

    for (const [v, c] of hist) {
        seen += c;
        if (seen >= want) {
            return v / 1000;
        }
    }
    return 0;
}

function mergeHist(hists) {
    const m = new Map();

    for (const h of hists) {
        for (const [v, c] of h || []) {
            m.set(v, (m.get(v) || 0) + c);
        }
    }
    return [...m.entries()].sort((a, b) => a[0] - b[0]);
}

function merge(p99Limit, files) {
    const rs = files.map(readJson).filter((r) => r !== null);
    const sum = (f) => rs.reduce((a, r) => a + (f(r) || 0), 0);

    if (rs.length === 0) {
        return null;
    }

    const start = Math.min(...rs.map((r) => r.t_start_us));
    const ready = Math.max(...rs.map((r) => r.t_ready_us));
    const secs = (ready - start) / 1e6;
    const out = {
        mode: rs[0].mode, port: rs[0].port, nsp: rs[0].nsp,
        processes: rs.length,
        n: sum((r) => r.n), connected: sum((r) => r.connected),
        failed: sum((r) => r.failed), closed: sum((r) => r.closed),
        connect_seconds: secs,
        connects_per_s: secs > 0 ? sum((r) => r.connected) / secs : 0,
        /* per-process percentiles: the worst of them */
        handshake_p50_ms: Math.max(...rs.map((r) => r.handshake_p50_ms)),
        handshake_p99_ms: Math.max(...rs.map((r) => r.handshake_p99_ms)),
        t_start_us: start, t_ready_us: ready,
        pings: sum((r) => r.pings), errors: {},
    };

    for (const r of rs) {
        for (const [k, v] of Object.entries(r.errors || {})) {
            out.errors[k] = (out.errors[k] || 0) + v;
        }
    }

    if (out.mode !== 'fanout') {
        return out;
    }

    const pub = rs.find((r) => !r.sub_only) || rs[0];

    out.push = pub.push;
    out.payload = pub.payload;
    out.step_seconds = pub.step_seconds;
    out.steps = pub.steps.map((ps, i) => {
        const hist = mergeHist(rs.map((r) => r.steps[i] && r.steps[i].hist));
        const received = sum((r) => r.steps[i] && r.steps[i].received);
        const closed = sum((r) => r.steps[i] && r.steps[i].closed);
        const subscribers = ps.subscribers
            + sum((r) => (r === pub ? 0 : r.connected));
        const expected = ps.sent * subscribers;
        const s = {
            ...ps, subscribers, received, closed, hist,
            target_deliveries_per_s: ps.rate * subscribers,
            ratio: expected > 0 ? received / expected : 0,
            delivered_per_s: received / pub.step_seconds,
            p50_ms: pct(hist, 50), p99_ms: pct(hist, 99),
            max_ms: Math.max(0, ...rs.map((r) => (r.steps[i] || {}).max_ms
                || 0)),
        };

        s.pass = ps.sent === ps.planned && ps.push_errors === 0
            && ps.acked === ps.sent && closed === 0 && subscribers > 0
            && received === expected && s.p99_ms <= p99Limit;
        return s;
    });

    const passed = out.steps.filter((s) => s.pass && !s.probe);

    out.max_pass_rate = Math.max(0, ...passed.map((s) => s.rate));
    out.max_pass_deliveries_per_s = Math.max(0,
        ...passed.map((s) => s.target_deliveries_per_s));
    return out;
}

/* ---------------------------------------------------------------- report */

/*
 * Several workers: where the subscribers are, from the /health taken while
 * they were all connected (its "workers" array comes from the zone), each
 * worker with the CPU it is pinned to (from /proc), in CPU order.
 */
function spread(rec) {
    const h = rec.health;
    const nsp = (rec.result && rec.result.nsp) || '/chat';

    if (!h || !Array.isArray(h.workers)) {
        return null;
    }

    const procs = new Map((rec.workers || []).map((w) => [w.pid, w]));
    const base = new Map((rec.workers_base || []).map((w) => [w.pid, w]));
    const total = h.workers.reduce((a, w) =>
        a + ((w.namespaces || {})[nsp] || 0), 0);

    return h.workers.map((w) => {
        const p = procs.get(w.pid) || {};
        const b = base.get(w.pid);
        const sockets = (w.namespaces || {})[nsp] || 0;
        const o = { pid: w.pid, cpus: p.cpus === undefined ? null : p.cpus,
            sockets, share: total > 0 ? sockets / total : 0 };

        if (b && p.rss_kb !== undefined) {
            o.rss_base_kb = b.rss_kb;
            o.rss_kb = p.rss_kb;
            o.pss_base_kb = b.pss_kb;
            o.pss_kb = p.pss_kb;
        }
        return o;
    }).sort((a, b) => String(a.cpus).localeCompare(String(b.cpus), 'en',
        { numeric: true }));
}

/*
 * The worker that answered the pushes: the publisher's one keep-alive
 * connection lands on one worker, whose answer {"matched":N} counts its
 * own sockets only, so matched / acked names it (when no reconnect moved
 * the connection and no other worker holds the same count).
 */
function publisher(rec, workers) {
    const push = rec.result && rec.result.push;

    if (!push || !push.acked || !workers || push.opens !== 1) {
        return null;
    }

    const per = push.matched / push.acked;
    const w = workers.filter((x) => x.sockets === per);

    return w.length === 1 ? { pid: w[0].pid, cpus: w[0].cpus,
        sockets: w[0].sockets } : null;
}

function median(xs) {
    const v = xs.filter((x) => typeof x === 'number' && isFinite(x))
        .sort((a, b) => a - b);

    if (v.length === 0) {
        return null;
    }
    return v.length % 2 ? v[(v.length - 1) / 2]
        : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
}

/*
 * An idle-memory run (WebSocket connections, or polling sessions): the RSS
 * delta per connection, and with several workers the PSS delta; returns
 * the workers (spread()) or null.
 */
function memoryRun(s, rec, memory, pss) {
    const r = rec.result;
    const m = (memory[rec.n] = memory[rec.n] || []);
    const w = spread(rec);

    if (r && r.connected >= rec.n) {
        m.push((rec.rss_kb - rec.rss_base_kb) * 1024 / r.connected);
        if (w && w.every((x) => x.pss_kb !== undefined)) {
            const p = (pss[rec.n] = pss[rec.n] || []);
            p.push(w.reduce((a, x) => a + x.pss_kb - x.pss_base_kb, 0)
                * 1024 / r.connected);
        }
    } else {
        s.notes.push(rec.metric + ' n=' + rec.n + ' run ' + rec.run + ': '
            + (r ? r.connected : 0) + ' connected');
    }
    return w;
}

function medians(byN) {
    return Object.fromEntries(Object.entries(byN).map(([n, v]) =>
        [n, { median: median(v), runs: v }]));
}

function summarize(raw) {
    const servers = {};
    const get = (s) => (servers[s] = servers[s] || {
        memory: {}, pss: {}, polling: {}, polling_pss: {}, connect: [],
        fanout: [], probe_p50: [], probe_p99: [], saturation: [], notes: [],
        workers: null, events: null, redis: null, scrape: null,
    });
    const runs = (s) => (s.workers = s.workers || { memory: [],
        polling: [], fanout: [] });

    for (const rec of raw) {
        const s = get(rec.server);
        const r = rec.result;

        switch (rec.metric) {
        case 'memory':
        case 'polling': {
            const poll = rec.metric === 'polling';
            const w = memoryRun(s, rec, poll ? s.polling : s.memory,
                poll ? s.polling_pss : s.pss);
            if (w) {
                /* polling: conns_by_pid, where the pending GETs are */
                runs(s)[rec.metric].push({ run: rec.run, n: rec.n,
                    workers: w, ...(rec.conns_by_pid
                        ? { conns_by_pid: rec.conns_by_pid } : {}) });
            }
            break;
        }
        case 'connect':
            if (r && r.connected >= rec.n) {
                s.connect.push(r.connects_per_s);
            } else {
                s.notes.push('connect run ' + rec.run + ': '
                    + (r ? r.connected : 0) + ' of ' + rec.n + ' connected');
            }
            break;
        case 'fanout': {
            if (!r || !r.steps || r.connected < rec.n) {
                s.notes.push('fanout run ' + rec.run + ': '
                    + (r ? r.connected : 0) + ' of ' + rec.n + ' subscribed');
                break;
            }
            const probe = r.steps.find((x) => x.probe);
            const w = spread(rec);
            if (w) {
                const pub = publisher(rec, w);
                runs(s).fanout.push({ run: rec.run, workers: w,
                    publisher: pub });
                if (!pub) {
                    s.notes.push('fanout run ' + rec.run + ': the worker '
                        + 'that answered the pushes is not known');
                }
            }
            if (r.closed > 0) {
                s.notes.push('fanout run ' + rec.run + ': ' + r.closed
                    + ' subscribers closed by the server');
            }
            s.fanout.push(r.max_pass_deliveries_per_s);
            if (probe) {
                s.probe_p50.push(probe.p50_ms);
                s.probe_p99.push(probe.p99_ms);
                if (probe.ratio < 1) {
                    s.notes.push('fanout run ' + rec.run + ': probe '
                        + 'delivered ' + (probe.ratio * 100).toFixed(2)
                        + ' %');
                }
            }
            s.saturation.push(Math.max(...r.steps.map(
                (x) => x.delivered_per_s)));
            break;
        }
        case 'redis': {
            /* across hosts: pushes to host A, subscribers on host B */
            if (!r || !r.steps || r.connected < rec.n) {
                s.notes.push('redis run ' + rec.run + ': '
                    + (r ? r.connected : 0) + ' of ' + rec.n + ' subscribed');
                break;
            }
            const x = (s.redis = s.redis || { fanout: [], probe_p50: [],
                probe_p99: [], saturation: [], runs: [] });
            const probe = r.steps.find((y) => y.probe);
            const h = rec.hosts || {};
            const lost = ['a', 'b'].map((k) => (h[k] && h[k].health
                && h[k].health.redis ? h[k].health.redis.lost || 0 : 0))
                .reduce((p, q) => p + q, 0);

            if (r.closed > 0) {
                s.notes.push('redis run ' + rec.run + ': ' + r.closed
                    + ' subscribers closed by the server');
            }
            if (lost > 0) {
                s.notes.push('redis run ' + rec.run + ': ' + lost
                    + ' operations lost while Redis was away');
            }
            x.fanout.push(r.max_pass_deliveries_per_s);
            if (probe) {
                x.probe_p50.push(probe.p50_ms);
                x.probe_p99.push(probe.p99_ms);
                if (probe.ratio < 1) {
                    s.notes.push('redis run ' + rec.run + ': probe '
                        + 'delivered ' + (probe.ratio * 100).toFixed(2)
                        + ' %');
                }
            }
            x.saturation.push(Math.max(...r.steps.map(
                (y) => y.delivered_per_s)));
            /* each process's CPU ticks (1/hz s) over the whole run:
               warm-up, connects, probe and ladder */
            x.runs.push({ run: rec.run, ladder_from: rec.ladder_from,
                pushed: r.push ? r.push.sent : null, hz: h.hz || null,
                seconds: h.seconds || null,
                cpu_ticks: { a: h.a ? h.a.cpu_ticks : null,
                    b: h.b ? h.b.cpu_ticks : null,
                    redis: h.redis ? h.redis.cpu_ticks : null },
                health: { a: h.a ? h.a.health : null,
                    b: h.b ? h.b.health : null } });
            break;
        }
        case 'events': {
            const a = r && r.acks;
            if (!a || r.connected < rec.n || !(a.counted > 0)) {
                s.notes.push('events run ' + rec.run + ': '
                    + (r ? r.connected : 0) + ' of ' + rec.n
                    + ' connected, ' + (a ? a.counted : 0) + ' acks');
                break;
            }
            if (a.bad || a.lost || a.unanswered || r.closed) {
                s.notes.push('events run ' + rec.run + ': ' + a.bad
                    + ' acks out of order, ' + a.lost + ' lost, '
                    + a.unanswered + ' unanswered, ' + r.closed
                    + ' clients closed');
            }
            const e = (s.events = s.events || {});
            const add = (k, v) => (e[k] = e[k] || []).push(v);
            /* CPU seconds over the counted seconds: per ack in µs, and
               the share of one CPU */
            const cpu = (x, k) => (x ? x[k] / a.hz : null);
            const per = (sec) => (sec === null ? null
                : sec * 1e6 / a.counted);
            const busy = (sec) => (sec === null ? null : sec / a.seconds);
            const srv = a.cpu[0];
            const app = a.cpu[1];

            add('acks_per_s', a.acks_per_s);
            add('p50_ms', a.p50_ms);
            add('p99_ms', a.p99_ms);
            add('server_us', per(cpu(srv, 'ticks')));
            add('server_user_us', per(cpu(srv, 'utime')));
            add('server_sys_us', per(cpu(srv, 'stime')));
            add('server_busy', busy(cpu(srv, 'ticks')));
            if (app) {
                add('app_us', per(cpu(app, 'ticks')));
                add('app_user_us', per(cpu(app, 'utime')));
                add('app_sys_us', per(cpu(app, 'stime')));
                add('app_busy', busy(cpu(app, 'ticks')));
            }
            add('gen_us', per(a.gen_cpu_s));
            add('gen_busy', busy(a.gen_cpu_s));
            e.cpus = rec.cpus;
            break;
        }
        case 'scrape': {
            /* each scrape's time under the push flood, in ms */
            const t = (rec.times_s || []).filter((x) => x !== null)
                .map((x) => x * 1000).sort((a, b) => a - b);
            const x = (s.scrape = s.scrape || { p50_ms: [], p90_ms: [],
                max_ms: [], failed: 0, promtool_ok: [], bytes: [] });
            if (!t.length) {
                s.notes.push('scrape run ' + rec.run + ': no answer');
                break;
            }
            x.failed += (rec.times_s || []).length - t.length;
            x.p50_ms.push(t[Math.floor((t.length - 1) * 0.5)]);
            x.p90_ms.push(t[Math.floor((t.length - 1) * 0.9)]);
            x.max_ms.push(t[t.length - 1]);
            x.promtool_ok.push(rec.promtool_ok);
            x.bytes.push(rec.bytes);
            if (rec.promtool_ok === false) {
                s.notes.push('scrape run ' + rec.run
                    + ': promtool check metrics failed');
            }
            break;
        }
        case 'slots':
            s.slots = {
                measured: (rec.rss_big_kb - rec.rss_small_kb) * 1024
                    / (rec.wc_big - rec.wc_small),
                computed: null, rss_small_kb: rec.rss_small_kb,
                rss_big_kb: rec.rss_big_kb,
            };
            if (rec.sizes) {
                const [c, e] = rec.sizes.split(' ').map(Number);
                s.slots.computed = c + 2 * e;
                s.slots.sizeof_connection = c;
                s.slots.sizeof_event = e;
            }
            break;
        }
    }

    const out = {};

    for (const [name, s] of Object.entries(servers)) {
        const memory = medians(s.memory);

        if (s.workers) {
            /* each worker's share of the subscribers, by its CPU */
            const share = {};
            for (const f of s.workers.fanout) {
                for (const w of f.workers) {
                    (share[w.cpus] = share[w.cpus] || []).push(w.share);
                }
            }
            s.workers = {
                memory_per_conn_bytes_pss: medians(s.pss),
                polling_memory_per_session_bytes_pss:
                    medians(s.polling_pss),
                fanout_share_by_cpu: Object.fromEntries(Object.entries(share)
                    .map(([c, v]) => [c, { median: median(v), runs: v }])),
                publisher_cpus: s.workers.fanout.map((f) =>
                    (f.publisher ? f.publisher.cpus : null)),
                runs: s.workers,
            };
        }
        out[name] = {
            memory_per_conn_bytes: memory,
            polling_memory_per_session_bytes: medians(s.polling),
            connects_per_s: { median: median(s.connect), runs: s.connect },
            fanout_deliveries_per_s: { median: median(s.fanout),
                runs: s.fanout },
            probe_p50_ms: { median: median(s.probe_p50), runs: s.probe_p50 },
            probe_p99_ms: { median: median(s.probe_p99), runs: s.probe_p99 },
            saturation_deliveries_per_s: { median: median(s.saturation),
                runs: s.saturation },
            slots: s.slots || null,
            ...(s.scrape ? { scrape: {
                p50_ms: { median: median(s.scrape.p50_ms),
                    runs: s.scrape.p50_ms },
                p90_ms: { median: median(s.scrape.p90_ms),
                    runs: s.scrape.p90_ms },
                max_ms: { median: median(s.scrape.max_ms),
                    runs: s.scrape.max_ms },
                failed: s.scrape.failed,
                promtool_ok: s.scrape.promtool_ok,
                bytes: s.scrape.bytes,
            } } : {}),
            ...(s.events ? { events: Object.fromEntries(Object.entries(
                s.events).map(([k, v]) => [k, k === 'cpus' ? v
                    : { median: median(v), runs: v }])) } : {}),
            ...(s.workers ? { workers: s.workers } : {}),
            ...(s.redis ? { redis: {
                fanout_deliveries_per_s: { median: median(s.redis.fanout),
                    runs: s.redis.fanout },
                probe_p50_ms: { median: median(s.redis.probe_p50),
                    runs: s.redis.probe_p50 },
                probe_p99_ms: { median: median(s.redis.probe_p99),
                    runs: s.redis.probe_p99 },
                saturation_deliveries_per_s: {
                    median: median(s.redis.saturation),
                    runs: s.redis.saturation },
                runs: s.redis.runs,
            } } : {}),
            notes: s.notes,
        };
    }
    return out;
}

function fmt(v, kind, floor) {
    if (v === null || v === undefined) {
        return '-';
    }
    switch (kind) {
    case 'fanout':
        /* no step passed: the rate sustained is below the lowest step */
        return v > 0 ? Math.round(v).toLocaleString('en-US')
                     : '< ' + floor.toLocaleString('en-US');
    case 'kb':
        return (v / 1024).toFixed(2) + ' KB';
    case 'rate':
        return Math.round(v).toLocaleString('en-US');
    case 'ms':
        return v.toFixed(1) + ' ms';
    case 'us':
        return v.toFixed(1) + ' µs';
    default:
        return String(v) || '-';
    }
}

function ratio(a, b, floor) {
    if (typeof a !== 'number' || typeof b !== 'number') {
        return '-';
    }
    if (b === 0) {
        /* the denominator is below the ladder's lowest step */
        return floor && a > 0 ? '> ' + (a / floor).toFixed(2) + 'x' : '-';
    }
    return (a / b).toFixed(2) + 'x';
}

function table(sum, meta) {
    const cols = ['ngx_ws', 'node', 'climit'];
    const m = (srv, f) => (sum[srv] ? f(sum[srv]) : null);
    const n = meta.n.toLocaleString('en-US');
    const nb = meta.n_big.toLocaleString('en-US');
    const pn = (meta.poll_n || 5000).toLocaleString('en-US');
    /* ngx_ws with several workers: rows of their own, in the ngx_ws
       column, beside the one-worker row they compare with */
    const mw = 'ngx_ws_workers';
    const ws = ', ' + (meta.workers || 2) + ' workers';
    const mws = sum[mw] && sum[mw].workers;
    const cpus = mws ? Object.keys(mws.fanout_share_by_cpu).sort((a, b) =>
        a.localeCompare(b, 'en', { numeric: true })) : [];
    /* the app hooks: ngx_ws_hooks in the ngx_ws column, beside Node */
    const hk = 'hooks';
    const ev = (k) => (s) => (s.events && s.events[k]
        ? s.events[k].median : null);
    const pc = (x) => (x === null ? '?' : Math.round(100 * x) + ' %');
    const f1 = (x) => (x === null ? '?' : x.toFixed(1));
    const en = (meta.ev_n || 1000).toLocaleString('en-US');
    /* across hosts through Redis: ngx_ws and Node, when measured */
    const rd = 'redis';
    const xh = ', across hosts (Redis)';
    const red = (k) => (s) => (s.redis ? s.redis[k].median : null);
    const pr = meta.probe.toLocaleString('en-US');
    /* ws_metrics answered while the workers write a push flood */
    const sr = (meta.scrape_rate || 100000).toLocaleString('en-US');
    const scr = (s) => (s.scrape && s.scrape.max_ms.median !== null
        ? [s.scrape.p50_ms, s.scrape.p90_ms, s.scrape.max_ms].map((x) =>
            x.median.toFixed(1)).join(' / ') + ' ms' : null);
    const rows = [
        ['idle memory / connection @ ' + n, 'kb',
            (s) => (s.memory_per_conn_bytes[meta.n] || {}).median],
        ['idle memory / connection @ ' + n + ', hooks, '
            + (meta.cookie_bytes || 200) + '-byte cookie', 'kb',
            (s) => (s.memory_per_conn_bytes[meta.n] || {}).median,
            'ngx_ws_hooks'],
        ['idle memory / connection @ ' + n + ws + ' (sum of RSS)', 'kb',
            (s) => (s.memory_per_conn_bytes[meta.n] || {}).median, mw],
        ['idle memory / connection @ ' + nb, 'kb',
            (s) => (s.memory_per_conn_bytes[meta.n_big] || {}).median],
        ['idle memory / polling session @ ' + pn, 'kb',
            (s) => (s.polling_memory_per_session_bytes[meta.poll_n]
                || {}).median],
        ['idle memory / polling session @ ' + pn + ws + ' (sum of RSS)',
            'kb',
            (s) => (s.polling_memory_per_session_bytes[meta.poll_n]
                || {}).median, mw],
        ['connects/s (' + n + ')', 'rate',
            (s) => s.connects_per_s.median],
        ['fan-out deliveries/s, 100 %, p99 <= ' + meta.p99_ms + ' ms',
            'fanout', (s) => s.fanout_deliveries_per_s.median],
        ['fan-out deliveries/s, 100 %, p99 <= ' + meta.p99_ms + ' ms' + ws,
            'fanout', (s) => s.fanout_deliveries_per_s.median, mw],
        ['p50 @ ' + meta.probe.toLocaleString('en-US') + ' deliveries/s',
            'ms', (s) => s.probe_p50_ms.median],
        ['p50 @ ' + meta.probe.toLocaleString('en-US') + ' deliveries/s'
            + ws, 'ms', (s) => s.probe_p50_ms.median, mw],
        ['p99 @ ' + meta.probe.toLocaleString('en-US') + ' deliveries/s',
            'ms', (s) => s.probe_p99_ms.median],
        ['p99 @ ' + meta.probe.toLocaleString('en-US') + ' deliveries/s'
            + ws, 'ms', (s) => s.probe_p99_ms.median, mw],
        ['highest delivered/s seen (any step)', 'rate',
            (s) => s.saturation_deliveries_per_s.median],
        ['highest delivered/s seen (any step)' + ws, 'rate',
            (s) => s.saturation_deliveries_per_s.median, mw],
        ['fan-out deliveries/s, 100 %, p99 <= ' + meta.p99_ms + ' ms' + xh,
            'fanout', red('fanout_deliveries_per_s'), rd],
        ['p50 @ ' + pr + ' deliveries/s' + xh, 'ms', red('probe_p50_ms'),
            rd],
        ['p99 @ ' + pr + ' deliveries/s' + xh, 'ms', red('probe_p99_ms'),
            rd],
        ['highest delivered/s seen (any step)' + xh, 'rate',
            red('saturation_deliveries_per_s'), rd],
        ['events with acks/s, ' + en + ' clients, ' + (meta.ev_window || 1)
            + ' outstanding each (ngx_ws: event hook)', 'rate',
            ev('acks_per_s'), hk],
        ['ack p50 (events with acks)', 'ms', ev('p50_ms'), hk],
        ['ack p99 (events with acks)', 'ms', ev('p99_ms'), hk],
        ['CPU / event: nginx worker, or Node (user + sys)', 'text',
            (s) => (s.events ? fmt(ev('server_us')(s), 'us') + ' ('
                + f1(ev('server_user_us')(s)) + ' + '
                + f1(ev('server_sys_us')(s)) + ')' : null), hk],
        ['CPU / event: the app behind the hook (user + sys)', 'text',
            (s) => (s.events && s.events.app_us ? fmt(ev('app_us')(s), 'us')
                + ' (' + f1(ev('app_user_us')(s)) + ' + '
                + f1(ev('app_sys_us')(s)) + ')' : null),
            'ngx_ws_hooks'],
        ['CPU busy, events: nginx + app (CPU ' + (meta.cpu_server || 0)
            + ') or Node; generator (CPU ' + (meta.cpu_gen || 1) + ')',
            'text',
            (s) => (s.events ? (s.events.app_busy
                ? pc(ev('server_busy')(s)) + ' + ' + pc(ev('app_busy')(s))
                : pc(ev('server_busy')(s))) + '; '
                + pc(ev('gen_busy')(s)) : null), hk],
        ['scrape of /metrics, ' + n + ' subscribers, '
            + sr + ' deliveries/s: p50 / p90 / max', 'text', scr, 'ngx_ws'],
        ['scrape of /metrics, ' + n + ' subscribers, '
            + sr + ' deliveries/s: p50 / p90 / max' + ws, 'text', scr, mw],
        [ws.slice(2) + ': subscribers on the worker on CPU '
            + cpus.join(' / '), 'text', (s) => cpus.map((c) =>
            (100 * s.workers.fanout_share_by_cpu[c].median).toFixed(1)
            + ' %').join(' / '), mw],
        [ws.slice(2) + ': CPU of the worker answering the pushes, by run',
            'text', (s) => s.workers.publisher_cpus.map((c) =>
                (c === null ? '?' : c)).join(', '), mw],
    ];
    const head = ['metric (median of ' + meta.runs + ')', 'ngx_ws', 'Node',
        'C limit', 'ngx_ws/Node', 'ngx_ws/C-limit'];
    const lines = [head];

    const floor = Number(String(meta.ladder).split(',')[0]);

    for (const [label, kind, f, srv] of rows) {
        if (srv === mw && !mws && !(f === scr && sum[mw])) {
            continue;
        }
        if (srv === hk && !sum.ngx_ws_hooks && !(sum.node
            && sum.node.events)) {
            continue;
        }
        if (srv === rd && !Object.values(sum).some((x) => x.redis)) {
            continue;
        }
        if (f === scr && !Object.values(sum).some((x) => x.scrape)) {
            continue;
        }
        if (srv && srv !== hk && srv !== mw && srv !== rd && !sum[srv]) {
            continue;
        }
        const v = srv === hk
            ? ['ngx_ws_hooks', 'node', 'climit'].map((c) => m(c, f))
            : srv && srv !== rd ? [m(srv, f), null, null]
                : cols.map((c) => m(c, f));
        const fl = kind === 'fanout' ? floor : 0;
        lines.push([label, ...v.map((x) => fmt(x, kind, floor)),
            ratio(v[0], v[1], fl), ratio(v[0], v[2], fl)]);
    }

    const slots = sum.ngx_ws && sum.ngx_ws.slots;
    if (slots) {
        lines.push(['nginx preallocation / worker_connections slot',
            Math.round(slots.measured) + ' B'
            + (slots.computed ? ' (' + slots.computed + ' B)' : ''),
            '-', '-', '-', '-']);
    }

    const w = head.map((_, i) => Math.max(...lines.map((l) => l[i].length)));
    const fmtLine = (l) => '| ' + l.map((c, i) => (i === 0 ? c.padEnd(w[i])
        : c.padStart(w[i]))).join(' | ') + ' |';

    return [fmtLine(lines[0]),
        '|' + w.map((x, i) => (i === 0 ? '-'.repeat(x + 2)
            : '-'.repeat(x + 1) + ':')).join('|') + '|',
        ...lines.slice(1).map(fmtLine)].join('\n');
}

function report(rawFile, outFile, latestFile, metaJson) {
    const meta = JSON.parse(metaJson);
    const raw = fs.readFileSync(rawFile, 'utf8').split('\n')
        .filter((l) => l.trim()).map((l) => JSON.parse(l));
    /* a fan-out run retried from the bottom of the ladder replaces the
       attempt that started higher and passed no step (across hosts too) */
    const ladder = (rec) => rec.metric === 'fanout' || rec.metric === 'redis';
    const key = (rec) => rec.server + '|' + rec.metric + '|' + rec.run;
    const last = new Map();
    for (const rec of raw) {
        if (ladder(rec)) {
            last.set(key(rec), rec);
        }
    }
    const used = raw.filter((rec) => !ladder(rec)
        || last.get(key(rec)) === rec);
    const sum = summarize(used);
    const text = table(sum, meta);
    const notes = [];

    for (const [name, s] of Object.entries(sum)) {
        for (const note of s.notes) {
            notes.push(name + ': ' + note);
        }
    }

    /* the raw records without the histograms of split runs */
    const rawSlim = JSON.parse(JSON.stringify(raw, (k, v) =>
        (k === 'hist' ? undefined : v)));
    const doc = { meta, summary: sum, table: text, notes, raw: rawSlim };
    const json = JSON.stringify(doc, null, 1) + '\n';

    fs.writeFileSync(outFile, json);
    fs.writeFileSync(latestFile, json);

    console.log('\nngx_ws benchmark, commit ' + meta.commit + ', ' + meta.date
        + ' (' + meta.cpus + ' CPUs, ' + meta.cpu + ')');
    console.log(text);
    if (notes.length) {
        console.log('\nnotes:\n  ' + notes.join('\n  '));
    }
    console.log('\nresults: ' + outFile);
}

const [cmd, ...args] = process.argv.slice(2);

if (cmd === 'merge') {
    console.log(JSON.stringify(merge(Number(args[0]), args.slice(1))));
} else if (cmd === 'report') {
    report(args[0], args[1], args[2], args[3]);
} else {
    console.error('usage: report.js merge P99_MS FILE... | '
        + 'report RAW OUT LATEST META');
    process.exit(2);
}
