/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

// The demo's application: what a Next.js (or any) app would be behind
// nginx, in plain Node with no npm packages.  nginx proxies the pages to it
// (/, /login, /logout) and calls its hooks (/api/socket/...) for Socket.IO,
// which nginx serves itself with ngx_ws: this process holds no socket.
//
//   node server.mjs [--port 8081] [--host 127.0.0.1]
//
// Sessions, rooms and messages live in memory: a restart forgets them.
//
// The hooks (see "App hooks" in README.md):
//   connect     /notifications: only with a session cookie (else the
//               client gets connect_error "not logged in"); the socket
//               joins "user:<name>" and is greeted.  /chat: anyone; a
//               guest can join rooms and read, not post.
//   event       /chat "join" (room), "leave" (room), "message" (room,
//               text), each acknowledged; messages are kept and pushed to
//               the room except their sender.  "typing" never comes
//               here: nginx relays it (ws_relay typing room=0).
//   disconnect  forgets the socket's presence.

import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const PAGE = readFileSync(join(here, 'page.html'), 'utf8');

const COOKIE = 'demo_session';
const NAME_RE = /^[A-Za-z0-9_-]{1,20}$/;
// At most 16 characters: a room name can never be a socket id (20).
const ROOM_RE = /^[a-z0-9][a-z0-9-]{0,15}$/;
const MAX_TEXT = 500;
const HISTORY = 30;
const MAX_ROOMS = 10;

const sessions = new Map();     // cookie value -> { name }
const messages = new Map();     // room -> [{ id, room, user, text, ts }]
const presence = new Map();     // "/chat" sid -> { user, rooms: Set }
let nextId = 1;

function log(...args) {
    console.log(new Date().toISOString(), ...args);
}

function cookies(header) {
    const out = {};
    for (const part of (header || '').split(';')) {
        const i = part.indexOf('=');
        if (i > 0) {
            out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
        }
    }
    return out;
}

function sessionOf(cookieHeader) {
    const id = cookies(cookieHeader)[COOKIE];
    return id ? sessions.get(id) || null : null;
}

function readBody(req, limit = 256 * 1024) {
    return new Promise((res, rej) => {
        const chunks = [];
        let size = 0;
        req.on('data', (c) => {
            size += c.length;
            if (size > limit) {
                rej(new Error('body too large'));
                req.destroy();
                return;
            }
            chunks.push(c);
        });
        req.on('end', () => res(Buffer.concat(chunks).toString('utf8')));
        req.on('error', rej);
    });
}

function send(res, status, body, headers = {}) {
    res.writeHead(status, { 'Content-Length': Buffer.byteLength(body),
                            ...headers });
    res.end(body);
}

function json(res, obj) {
    send(res, 200, JSON.stringify(obj),
         { 'Content-Type': 'application/json' });
}

function redirect(res, to, cookie) {
    const h = { Location: to, 'Cache-Control': 'no-store' };
    if (cookie) {
        h['Set-Cookie'] = cookie;
    }
    send(res, 303, '', h);
}

// ------------------------------------------------------------ pages

function page(res, user) {
    // The name is checked at login; escaped anyway for the <script>.
    const u = JSON.stringify(user ? user.name : null)
        .replace(/</g, '\\u003c');
    send(res, 200, PAGE.replace('/*@USER@*/null', u),
         { 'Content-Type': 'text/html; charset=utf-8',
           'Cache-Control': 'no-store' });
}

async function login(req, res) {
    const form = new URLSearchParams(await readBody(req, 4096));
    const name = (form.get('name') || '').trim();
    if (!NAME_RE.test(name)) {
        send(res, 400, 'A name: 1 to 20 letters, digits, - or _.\n',
             { 'Content-Type': 'text/plain; charset=utf-8' });
        return;
    }
    const id = randomBytes(24).toString('base64url');
    sessions.set(id, { name });
    log(`login ${name}`);
    redirect(res, '/',
             `${COOKIE}=${id}; Path=/; HttpOnly; SameSite=Lax`);
}

function logout(req, res) {
    const id = cookies(req.headers.cookie)[COOKIE];
    if (id) {
        sessions.delete(id);
    }
    redirect(res, '/', `${COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`);
}

// ------------------------------------------------------------ hooks

function onConnect(j, cookieHeader) {
    const user = sessionOf(cookieHeader);

    if (j.nsp === '/notifications') {
        if (!user) {
            log(`refused ${j.sid} on /notifications: no session`);
            return { error: { message: 'not logged in',
                              data: { login: '/' } } };
        }
        log(`${user.name} on /notifications as ${j.sid}`);
        return {
            data: { user: user.name },
            push: [
                // Pushes to "user:<name>" reach every tab of that user.
                { op: 'join', rooms: [j.sid], room: `user:${user.name}` },
                { event: 'notification', rooms: [j.sid],
                  data: [{ text: `Signed in as ${user.name}: `
                                 + 'notifications are on' }] },
            ],
        };
    }

    if (j.nsp === '/chat') {
        presence.set(j.sid, { user: user ? user.name : null,
                              rooms: new Set() });
        return { data: { user: user ? user.name : null, rooms: [] } };
    }

    return {};
}

const fail = (error) => ({ ack: [{ ok: false, error }] });

function onEvent(j) {
    if (j.nsp !== '/chat') {
        return fail(`no event "${j.event}" on ${j.nsp}`);
    }
    const data = j.data || { user: null, rooms: [] };
    const rooms = Array.isArray(data.rooms) ? data.rooms : [];
    const [room, text] = j.args;
    const who = data.user || 'a guest';

    if (typeof room !== 'string' || !ROOM_RE.test(room)) {
        return fail('a room: 1 to 16 of a-z, 0-9 and -');
    }

    switch (j.event) {

    case 'join': {
        if (rooms.includes(room)) {
            return { ack: [{ ok: true, room,
                             history: (messages.get(room) || []) }] };
        }
        if (rooms.length >= MAX_ROOMS) {
            return fail(`${MAX_ROOMS} rooms at most`);
        }
        presence.get(j.sid)?.rooms.add(room);
        log(`${who} joins ${room}`);
        return {
            ack: [{ ok: true, room, history: messages.get(room) || [] }],
            data: { ...data, rooms: [...rooms, room] },
            push: [
                { op: 'join', rooms: [j.sid], room },
                { event: 'joined', rooms: [room], except: [j.sid],
                  data: [{ room, user: data.user }] },
            ],
        };
    }

    case 'leave': {
        if (!rooms.includes(room)) {
            return fail(`not in ${room}`);
        }
        presence.get(j.sid)?.rooms.delete(room);
        log(`${who} leaves ${room}`);
        return {
            ack: [{ ok: true, room }],
            data: { ...data, rooms: rooms.filter((r) => r !== room) },
            push: [
                { op: 'leave', rooms: [j.sid], room },
                { event: 'left', rooms: [room],
                  data: [{ room, user: data.user }] },
            ],
        };
    }

    case 'message': {
        if (!data.user) {
            return fail('log in to post');
        }
        if (!rooms.includes(room)) {
            return fail(`join ${room} first`);
        }
        if (typeof text !== 'string' || !text.trim()
            || text.length > MAX_TEXT) {
            return fail(`a message: 1 to ${MAX_TEXT} characters`);
        }
        const msg = { id: nextId++, room, user: data.user,
                      text: text.trim(), ts: Date.now() };
        const list = messages.get(room) || [];
        list.push(msg);
        if (list.length > HISTORY) {
            list.shift();
        }
        messages.set(room, list);
        log(`${data.user} in ${room}: ${msg.text}`);
        // To the room but the sender, who has the ack instead.
        return {
            ack: [{ ok: true, message: msg }],
            push: [{ event: 'message', rooms: [room], except: [j.sid],
                     data: [msg] }],
        };
    }

    default:
        return fail(`no event "${j.event}"`);
    }
}

function onDisconnect(j) {
    const p = presence.get(j.sid);
    if (p) {
        presence.delete(j.sid);
        log(`${p.user || 'a guest'} left /chat (${j.reason})`);
    }
    return {};
}

async function hook(req, res, type) {
    let j;
    try {
        j = JSON.parse(await readBody(req));
    } catch {
        send(res, 400, '{}', { 'Content-Type': 'application/json' });
        return;
    }
    if (type === 'connect') {
        json(res, onConnect(j, req.headers.cookie));
    } else if (type === 'event') {
        json(res, onEvent({ ...j, args: Array.isArray(j.args) ? j.args : [] }));
    } else {
        json(res, onDisconnect(j));
    }
}

// ------------------------------------------------------------ server

async function handle(req, res) {
    const url = new URL(req.url, 'http://app');
    const path = url.pathname;

    if (req.method === 'POST') {
        const m = /^\/api\/socket\/(connect|event|disconnect)$/.exec(path);
        if (m) {
            return hook(req, res, m[1]);
        }
        if (path === '/login') {
            return login(req, res);
        }
        if (path === '/logout') {
            return logout(req, res);
        }
    }
    if ((req.method === 'GET' || req.method === 'HEAD') && path === '/') {
        return page(res, sessionOf(req.headers.cookie));
    }
    send(res, 404, 'Not found\n', { 'Content-Type': 'text/plain' });
}

function arg(name, dflt) {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}

const host = arg('host', '127.0.0.1');
const port = Number(arg('port', process.env.PORT || 8081));

const server = http.createServer((req, res) => {
    handle(req, res).catch((e) => {
        log(`error: ${e.message}`);
        if (!res.headersSent) {
            send(res, 500, 'Internal error\n');
        } else {
            res.destroy();
        }
    });
});

server.keepAliveTimeout = 65000;
server.listen(port, host, () => {
    log(`chat app listening on http://${host}:${server.address().port}`);
});

function stop(sig) {
    log(`${sig}: stopping`);
    server.close();
    server.closeAllConnections?.();
    process.exit(0);
}
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
