/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * The Node reference for the benchmark: socket.io 4.8 with its default
 * options (the WebSocket transport is allowed as it is by default), the
 * namespaces "/" and "/chat", and on the same port the HTTP push endpoint
 * that ngx_ws offers, so the load generator drives both the same way:
 *
 *   POST /_ws/push  {"nsp":"/chat","rooms":[],"except":[],"event":"msg",
 *                    "data":[...]}            -> {"matched":N}
 *                   {"op":"join"|"leave","room":"r"|["r",..], ...}
 *                   {"op":"disconnect","close":bool, ...}
 *   GET /health     {"status":"ok","pid":..,"connections":..,...}
 *
 * and a client's "msg" event with an ack is acknowledged with its own
 * arguments (the events row).
 *
 * With a Redis URL (the cross-host row), the server is one host of a
 * cluster: @socket.io/redis-adapter on two node-redis clients (publish,
 * subscribe), so an emit pushed here reaches the sockets of every server
 * on that Redis; /health then says "redis":{"state":"up"|"down"}.
 *
 * Usage: node server.js [PORT [REDIS_URL]]
 *        (or PORT=..., REDIS_URL=redis://127.0.0.1:6379; listens on
 *        127.0.0.1)
 */

'use strict';

const http = require('node:http');
const { Server } = require('socket.io');

const port = Number(process.argv[2] || process.env.PORT || 3000);
const host = process.env.HOST || '127.0.0.1';
const redisUrl = process.argv[3] || process.env.REDIS_URL || '';
const started = Date.now();

const reserved = new Set(['connect', 'connect_error', 'disconnect',
    'disconnecting', 'newListener', 'removeListener']);

const httpServer = http.createServer(onRequest);
let io;
let namespaces;
let redis = null;

/*
 * The namespaces are created up front (io.of() on a push must not create
 * one), after the adapter is known: each gets its own.
 */
function setup(options) {
    io = new Server(httpServer, options);
    namespaces = new Map([['/', io.of('/')], ['/chat', io.of('/chat')]]);

    /*
     * The events-with-acks row: "msg" from a client is acknowledged at
     * once with its own arguments, as bench/app/app.mjs does behind
     * ngx_ws's event hook.
     */
    for (const nsp of namespaces.values()) {
        nsp.on('connection', (socket) => {
            socket.on('msg', (...args) => {
                const ack = args.pop();

                if (typeof ack === 'function') {
                    ack(...args);
                }
            });
        });
    }
}

/*
 * socket.io's Redis adapter, as its README sets it up: REDIS_ADAPTER=sharded
 * for createShardedAdapter (Redis 7's SPUBLISH)
 */
async function redisAdapter(url) {
    const { createClient } = require('redis');
    const { createAdapter, createShardedAdapter } =
        require('@socket.io/redis-adapter');
    const pub = createClient({ url });
    const sub = pub.duplicate();

    for (const c of [pub, sub]) {
        c.on('error', (e) => process.stderr.write('redis: ' + e.message
            + '\n'));
    }
    await Promise.all([pub.connect(), sub.connect()]);
    redis = { pub, sub };
    return process.env.REDIS_ADAPTER === 'sharded'
        ? createShardedAdapter(pub, sub) : createAdapter(pub, sub);
}

function reply(res, status, obj) {
    const body = JSON.stringify(obj);

    res.writeHead(status, {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(body),
    });
    res.end(body);
}

function strings(v, what) {
    if (v === undefined || v === null) {
        return [];
    }
    if (typeof v === 'string') {
        return [v];
    }
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) {
        throw new Error(what + ' must be an array of strings');
    }
    return v;
}

/*
 * The count of matched sockets is only informative for the benchmark: the
 * namespace size, or the sum of the room sizes, both O(1) per message, so
 * that the count costs Node nothing measurable.
 */
function matched(nsp, rooms) {
    let n = 0;

    if (rooms.length === 0) {
        return nsp.sockets.size;
    }
    for (const r of rooms) {
        const set = nsp.adapter.rooms.get(r);
        n += set ? set.size : 0;
    }
    return n;
}

function apply(msg) {
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
        throw new Error('body must be a JSON object');
    }

    const name = msg.nsp === undefined ? '/' : msg.nsp;
    const nsp = namespaces.get(name);

    if (nsp === undefined) {
        throw new Error('unknown nsp');
    }

    const rooms = strings(msg.rooms, 'rooms');
    const except = strings(msg.except, 'except');
    const op = msg.op === undefined ? 'emit' : msg.op;
    const target = nsp.to(rooms).except(except);

    switch (op) {
    case 'emit': {
        const data = msg.data === undefined ? [] : msg.data;

        if (typeof msg.event !== 'string' || reserved.has(msg.event)) {
            throw new Error('missing or invalid event');
        }
        if (!Array.isArray(data)) {
            throw new Error('data must be an array');
        }
        target.emit(msg.event, ...data);
        return matched(nsp, rooms);
    }
    case 'join':
    case 'leave': {
        const room = strings(msg.room, 'room');

        if (room.length === 0) {
            throw new Error('missing room');
        }
        if (op === 'join') {
            target.socketsJoin(room);
        } else {
            target.socketsLeave(room);
        }
        return matched(nsp, rooms);
    }
    case 'disconnect': {
        const n = matched(nsp, rooms);

        target.disconnectSockets(msg.close === true);
        return n;
    }
    default:
        throw new Error('unknown op');
    }
}

function onPush(req, res) {
    const chunks = [];

    if (req.method !== 'POST') {
        return reply(res, 405, { error: 'method not allowed' });
    }
    if (!/^application\/json\b/i.test(req.headers['content-type'] || '')) {
        return reply(res, 415, { error: 'content type must be JSON' });
    }

    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
        let msg;

        try {
            msg = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch (e) {
            return reply(res, 400, { error: 'malformed JSON' });
        }

        try {
            reply(res, 200, { matched: apply(msg) });
        } catch (e) {
            reply(res, 400, { error: e.message });
        }
    });
}

function onHealth(req, res) {
    const counts = {};

    for (const [name, nsp] of namespaces) {
        counts[name] = nsp.sockets.size;
    }
    reply(res, 200, {
        status: 'ok',
        pid: process.pid,
        uptime: Math.floor((Date.now() - started) / 1000),
        connections: io.engine.clientsCount,
        namespaces: counts,
        ...(redis ? { redis: { state: redis.pub.isReady && redis.sub.isReady
            ? 'up' : 'down' } } : {}),
    });
}

/* socket.io handles /socket.io/ itself and passes everything else here. */
function onRequest(req, res) {
    const path = req.url.split('?')[0];

    if (path === '/_ws/push') {
        return onPush(req, res);
    }
    if (path === '/health' && req.method === 'GET') {
        return onHealth(req, res);
    }
    reply(res, 404, { error: 'not found' });
}

process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));

(redisUrl ? redisAdapter(redisUrl) : Promise.resolve(null)).then(
    (adapter) => {
        setup(adapter ? { adapter } : undefined);
        httpServer.listen(port, host, () => {
            process.stderr.write('node socket.io reference pid '
                + process.pid + ' listening on ' + host + ':' + port
                + (redisUrl ? ', Redis adapter on ' + redisUrl : '')
                + '\n');
        });
    },
    (e) => {
        process.stderr.write('redis: ' + e.message + '\n');
        process.exit(1);
    });
