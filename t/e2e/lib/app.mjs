/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

// The application behind ngx_ws's hooks, written as Next.js route
// handlers are: one per hook, each taking a Web Request and returning a
// Web Response.  Part 1 is the application (what README quotes); part 2
// is a small adapter that runs it on node:http for the tests, with the
// faults and delays a test asks for.  No dependency beyond Node itself.

import http from 'node:http';

// ===================================================================
// Part 1: the application.  In Next.js each handler is the POST export of
// its own route file: app/api/ws/connect/route.js has
//     export async function POST(request) { ... }
// and nginx has
//     ws_hook_connect    /_hook/connect;
//     ws_hook_event      /_hook/event;
//     ws_hook_disconnect /_hook/disconnect;
//     location /_hook/ { internal; proxy_pass http://127.0.0.1:3000/api/ws/; }
// ===================================================================

// Who is logged in, by session cookie (a real app asks its session store).
export const sessions = new Map([
    ['s-ada', { id: 1, name: 'ada' }],
    ['s-bob', { id: 2, name: 'bob' }],
]);

// Who is online: socket id -> user id (a real app: its database).
export const online = new Map();

function userOf(request) {
    const m = /(?:^|;\s*)session=([^;]*)/.exec(request.headers.get('cookie')
                                               || '');
    return m ? sessions.get(m[1]) : undefined;
}

function json(body) {
    return new Response(JSON.stringify(body),
                        { headers: { 'Content-Type': 'application/json' } });
}

// app/api/ws/connect/route.js: may this socket join its namespace?
// {"type":"connect","nsp","sid","auth","headers","address"}; the Cookie
// of the handshake comes as a header too.
export const connect = {
    async POST(request) {
        const { sid } = await request.json();
        const user = userOf(request);
        if (!user) {
            // The client gets connect_error with this message and data.
            return json({ error: { message: 'not logged in',
                                   data: { code: 401 } } });
        }
        online.set(sid, user.id);
        return json({
            // Kept with the socket, handed to every later hook.
            data: { user: user.id, name: user.name, events: 0 },
            // Run once the socket is connected; "rooms":[sid] is the
            // socket itself.
            push: [{ event: 'welcome', rooms: [sid], data: [user.name] }],
        });
    },
};

// app/api/ws/event/route.js: a client's event.
// {"type":"event","nsp","sid","data","event","args","ack"}; a session's
// events come one at a time, in order.  "ack" answers the client's
// callback (if it gave one), "data" replaces the socket's data, "push"
// runs push operations (in the socket's namespace by default).
export const event = {
    async POST(request) {
        const { sid, data, event, args } = await request.json();
        const next = { ...data, events: data.events + 1 };

        switch (event) {
        case 'join': {
            const [room] = args;
            return json({ data: next, ack: [room],
                          push: [{ op: 'join', rooms: [sid], room }] });
        }
        case 'message': {
            // To the room, except the sender.
            const [room, text] = args;
            return json({ data: next, ack: ['sent'],
                          push: [{ event: 'message', rooms: [room],
                                   except: [sid],
                                   data: [{ from: data.name, text }] }] });
        }
        case 'echo':
            return json({ data: next, ack: args });
        case 'bytes': {
            // A Buffer for the client: {"$binary": base64}.
            const bytes = Buffer.from(String(args[0]), 'utf8');
            return json({ data: next,
                          ack: [{ $binary: bytes.toString('base64') },
                                bytes.length] });
        }
        case 'whoami':
            return json({ data: next, ack: [next] });
        default:
            return json({ data: next });
        }
    },
};

// app/api/ws/disconnect/route.js: a socket is gone.
// {"type":"disconnect","nsp","sid","data","rooms","reason"}; best effort,
// the answer means nothing (but anything other than 200 is logged).
export const disconnect = {
    async POST(request) {
        const { sid } = await request.json();
        online.delete(sid);
        return json({});
    },
};

// ===================================================================
// Part 2: the adapter: node:http in front of the handlers, as Next.js
// would be, plus what a test controls.
// ===================================================================

const routes = {
    '/api/ws/connect': connect,
    '/api/ws/event': event,
    '/api/ws/disconnect': disconnect,
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Reads an IncomingMessage into a Web Request.
async function toRequest(req, base) {
    const chunks = [];
    for await (const c of req) {
        chunks.push(c);
    }
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) {
        headers.set(k, Array.isArray(v) ? v.join(', ') : v);
    }
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    return new Request(new URL(req.url, base), {
        method: req.method,
        headers,
        body: hasBody ? Buffer.concat(chunks) : undefined,
    });
}

// Writes a Web Response to a ServerResponse.
async function fromResponse(response, res) {
    const body = Buffer.from(await response.arrayBuffer());
    const headers = {};
    response.headers.forEach((v, k) => { headers[k] = v; });
    headers['content-length'] = body.length;
    res.writeHead(response.status, headers);
    res.end(body);
}

// The app on 127.0.0.1:port (a free one by default).
//   app.requests   every call: {hook, headers, body}, oldest first
//   app.fail.<hook> = 'status' (500) | 'notjson' | 'slow' (3 s, then the
//                  handler's answer) | undefined (the handler answers)
//   app.delay      (body) => ms to wait before answering, or null
//   app.stop() / app.listen(): down and up again, on the same port
export class App {
    static async start(port = 0) {
        const app = new App();
        await app.listen(port);
        return app;
    }

    constructor() {
        this.requests = [];
        this.fail = {};
        this.delay = null;
        this.port = 0;
        this.server = null;
    }

    calls(hook, sid) {
        return this.requests.filter((r) => r.hook === hook
                                   && (!sid || r.body?.sid === sid))
            .map((r) => r.body);
    }

    async handle(req, res) {
        const base = `http://${req.headers.host || '127.0.0.1'}`;
        const request = await toRequest(req, base);
        const { pathname } = new URL(request.url);
        const hook = pathname.replace(/^\/api\/ws\//, '');
        let body;
        try {
            body = await request.clone().json();
        } catch {
            body = undefined;
        }
        this.requests.push({
            hook, body,
            headers: Object.fromEntries(request.headers.entries()),
        });

        const ms = this.delay ? this.delay(body) : 0;
        if (ms > 0) {
            await sleep(ms);
        }
        const fault = this.fail[hook];
        if (fault === 'status') {
            return fromResponse(new Response('{"data":1}', { status: 500 }),
                                res);
        }
        if (fault === 'notjson') {
            return fromResponse(new Response('yes'), res);
        }
        if (fault === 'slow') {
            await sleep(3000);
        }
        const route = routes[pathname];
        const handler = route && route[request.method];
        if (!handler) {
            return fromResponse(new Response('not found', { status: 404 }),
                                res);
        }
        return fromResponse(await handler(request), res);
    }

    listen(port = this.port) {
        const server = http.createServer((req, res) => {
            this.handle(req, res).catch((e) => {
                if (!res.headersSent) {
                    res.writeHead(500);
                }
                res.end(String(e.stack || e));
            });
        });
        this.server = server;
        return new Promise((resolve, reject) => {
            server.once('error', reject);
            server.listen(port, '127.0.0.1', () => {
                this.port = server.address().port;
                resolve(this);
            });
        });
    }

    stop() {
        const server = this.server;
        this.server = null;
        if (!server) {
            return Promise.resolve();
        }
        return new Promise((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
        });
    }
}
