// docs/migrating-from-node/before/server.mjs
// The Node socket.io server being replaced: two namespaces behind a
// cookie-auth middleware, handlers that save and broadcast, a job that
// notifies a user, /health and /metrics, CORS from the environment.
import http from 'node:http';
import { Server } from 'socket.io';
import { userFromCookie } from '../lib/auth.mjs';
import { saveMessage } from '../lib/messages.mjs';
import { markOnline, markOffline } from '../lib/presence.mjs';

export function start(port) {
    const httpServer = http.createServer((req, res) => {
        if (req.url === '/health') {
            res.writeHead(200, { 'Content-Type': 'application/json' });
            res.end(JSON.stringify({ status: 'ok',
                                     clients: io.engine.clientsCount }));
        } else if (req.url === '/metrics') {
            res.writeHead(200, { 'Content-Type': 'text/plain' });
            res.end(`socketio_clients ${io.engine.clientsCount}\n`);
        } else {
            res.writeHead(404).end();
        }
    });

    // polling then WebSocket, socket.io's default transports
    const io = new Server(httpServer, {
        cors: { origin: process.env.CORS_ORIGIN?.split(','),
                credentials: true },
    });

    // the cookie-auth middleware, on both namespaces
    function auth(socket, next) {
        const user = userFromCookie(socket.handshake.headers.cookie);
        if (!user) {
            return next(new Error('not logged in'));
        }
        socket.data.user = user;
        next();
    }

    const chat = io.of('/chat').use(auth);
    chat.on('connection', (socket) => {
        markOnline(socket.id, socket.data.user);
        socket.on('disconnect', () => markOffline(socket.id));
        socket.on('join', (room, ack) => {
            socket.join(room);
            ack({ ok: true });
        });
        socket.on('message', async (room, text, ack) => {
            const msg = await saveMessage(room, socket.data.user, text);
            socket.to(room).emit('message', msg);
            ack({ ok: true, id: msg.id });
        });
    });

    const notifications = io.of('/notifications').use(auth);
    notifications.on('connection', (socket) => {
        socket.join(`user:${socket.data.user.id}`);
    });

    // what the job worker calls, in this process
    function notifyUser(userId, notification) {
        notifications.to(`user:${userId}`).emit('notification',
                                                notification);
    }

    return new Promise((resolve) => httpServer.listen(port, '127.0.0.1',
        () => resolve({ notifyUser, close: () => io.close() })));
}
