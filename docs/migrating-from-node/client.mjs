// docs/migrating-from-node/client.mjs
// The client, the same before and after.  In a page the browser sends the
// session cookie by itself; `options` are socket.io-client's own.
import { io } from 'socket.io-client';

export function connect(url, { show, ...options } = {}) {
    const chat = io(`${url}/chat`, options);
    const notifications = io(`${url}/notifications`, options);

    chat.on('message', (msg) => show('message', msg));
    chat.on('connect_error', (err) => show('error', err.message));
    notifications.on('notification', (n) => show('notification', n));

    async function say(room, text) {
        await chat.emitWithAck('join', room);
        return chat.emitWithAck('message', room, text);
    }

    return { chat, notifications, say };
}
