/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

// socket.io-client helpers: the client is used as an application would,
// unmodified; these only wait for and record what it emits.

import http from 'node:http';
import https from 'node:https';
import { io, Manager } from 'socket.io-client';
import { waitFor } from './nginx.mjs';

export { io, Manager };

// Quick reconnection so that a test waiting for one does not wait long,
// and so that a wrong reconnection shows up quickly too.
export const FAST = {
    transports: ['websocket'],
    reconnectionDelay: 100,
    reconnectionDelayMax: 500,
};

// Resolves with the arguments of the next `event`; rejects on timeout.
export function once(emitter, event, ms = 10000) {
    return new Promise((res, rej) => {
        const t = setTimeout(() => {
            emitter.off(event, h);
            rej(new Error(`no "${event}" within ${ms} ms`));
        }, ms);
        const h = (...args) => {
            clearTimeout(t);
            res(args);
        };
        emitter.once(event, h);
    });
}

// `promise`, or a failure naming `what` if it has not settled within `ms`.
export function within(promise, ms, what) {
    let t;
    const limit = new Promise((res, rej) => {
        t = setTimeout(() => rej(new Error(`no ${what} within ${ms} ms`)), ms);
    });
    return Promise.race([promise, limit]).finally(() => clearTimeout(t));
}

// Resolves once `socket` has been disconnected and then connected again.
export function reconnected(socket, ms = 30000) {
    return within(new Promise((res) => socket.once('disconnect', () =>
        socket.once('connect', res))), ms, `reconnection of ${socket.nsp}`);
}

// A socket connected (or refused): resolves on "connect", rejects with the
// connect_error.
export function connected(socket, ms = 10000) {
    if (socket.connected) {
        return Promise.resolve(socket);
    }
    return new Promise((res, rej) => {
        const t = setTimeout(() => {
            done();
            rej(new Error(`socket ${socket.nsp} did not connect `
                          + `within ${ms} ms`));
        }, ms);
        const ok = () => { done(); res(socket); };
        const ko = (e) => { done(); rej(e); };
        const done = () => {
            clearTimeout(t);
            socket.off('connect', ok);
            socket.off('connect_error', ko);
        };
        socket.on('connect', ok);
        socket.on('connect_error', ko);
    });
}

// Records every event a socket receives, and its disconnects.
export function record(socket) {
    const rec = { events: [], disconnects: [], connects: 0 };
    socket.onAny((event, ...args) => rec.events.push({ event, args }));
    socket.on('disconnect', (reason, details) =>
        rec.disconnects.push({ reason, details }));
    socket.on('connect', () => { rec.connects++; });
    socket.rec = rec;
    return rec;
}

export function received(socket, event) {
    return socket.rec.events.filter((e) => e.event === event)
        .map((e) => e.args);
}

// POST JSON to the push endpoint; `body` is sent as is when a string (for
// byte-exact tests), JSON-encoded otherwise.  A fresh connection each
// time, so that no keep-alive connection outlives the test's nginx.
export function post(url, body, headers = {}) {
    const data = typeof body === 'string' ? body : JSON.stringify(body);
    const mod = url.startsWith('https:') ? https : http;
    return new Promise((res, rej) => {
        const req = mod.request(url, {
            method: 'POST',
            agent: false,
            rejectUnauthorized: false,
            headers: {
                'Content-Type': 'application/json',
                'Content-Length': Buffer.byteLength(data),
                ...headers,
            },
        }, (r) => {
            let text = '';
            r.setEncoding('utf8');
            r.on('data', (c) => { text += c; });
            r.on('end', () => {
                let json;
                try { json = JSON.parse(text); } catch { json = undefined; }
                res({ status: r.statusCode, text, json });
            });
        });
        req.setTimeout(15000, () =>
            req.destroy(new Error(`POST ${url}: no answer within 15 s`)));
        req.on('error', rej);
        req.end(data);
    });
}

export function get(url) {
    const mod = url.startsWith('https:') ? https : http;
    return new Promise((res, rej) => {
        const req = mod.get(url, { agent: false, rejectUnauthorized: false },
                            (r) => {
            let text = '';
            r.setEncoding('utf8');
            r.on('data', (c) => { text += c; });
            r.on('end', () => {
                let json;
                try { json = JSON.parse(text); } catch { json = undefined; }
                res({ status: r.statusCode, text, json, headers: r.headers });
            });
        });
        req.setTimeout(15000, () =>
            req.destroy(new Error(`GET ${url}: no answer within 15 s`)));
        req.on('error', rej);
    });
}

// The arguments of the first recorded `event` of a recorded socket (taken
// out of the record), waiting for it if it has not come yet: no race with
// an event that arrived before the caller got round to asking.
export async function take(socket, event, ms = 10000) {
    const ev = socket.rec.events;
    await waitFor(() => ev.some((e) => e.event === event), ms,
                  `"${event}" on ${socket.nsp}`, 10);
    const i = ev.findIndex((e) => e.event === event);
    return ev.splice(i, 1)[0].args;
}

let seq = 0;

// Pushes a unique "barrier" event to each socket (to the room named by its
// id) and waits until every one has it.  Pushes on one connection arrive
// in order, so whatever was pushed before has arrived by then: "nothing
// else came" can be asserted without waiting for a time.
export async function barrier(pushUrl, sockets, ms = 10000) {
    const token = `b${process.pid}-${++seq}`;
    for (const s of sockets) {
        const r = await post(pushUrl, {
            nsp: s.nsp, rooms: [s.id], event: 'barrier', data: [token],
        });
        if (r.status !== 200 || r.json?.matched !== 1) {
            throw new Error(`barrier push to ${s.nsp} ${s.id}: `
                            + `${r.status} ${r.text}`);
        }
    }
    await waitFor(() => sockets.every((s) =>
        s.rec.events.some((e) => e.event === 'barrier' && e.args[0] === token)),
        ms, 'the barrier on every socket');
    // Leave only the application's events in the record.
    for (const s of sockets) {
        s.rec.events = s.rec.events.filter((e) => e.event !== 'barrier');
    }
}

// Closes the clients a test opened and waits until the server holds no
// connection, so that the next test starts from an empty server.
export async function closeAndDrain(opened, healthUrl, ms = 10000) {
    closeAll(opened);
    opened.length = 0;
    await waitFor(async () => {
        const h = await get(healthUrl);
        return h.json?.connections === 0;
    }, ms, 'the server to hold no connection');
}

export function closeAll(things) {
    for (const t of things) {
        try {
            if (t instanceof Manager) {
                t.reconnection(false);
                t.disconnect();
            } else {
                t.io.reconnection(false);
                t.disconnect();
            }
        } catch { /* already closed */ }
    }
}
