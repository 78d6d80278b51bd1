// docs/migrating-from-node/app/api/ws/connect/route.mjs
// ws_hook_connect: the cookie-auth middleware and the "connection"
// handlers.  The handshake's Cookie header comes with the call.
import { userFromCookie } from '../../../../lib/auth.mjs';
import { markOnline } from '../../../../lib/presence.mjs';

export async function POST(request) {
    const { nsp, sid } = await request.json();
    const user = userFromCookie(request.headers.get('cookie'));

    if (!user) {
        // next(new Error('not logged in')): the client's connect_error
        return Response.json({ error: { message: 'not logged in' } });
    }

    if (nsp === '/chat') {
        markOnline(sid, user);
        return Response.json({ data: { user } });     // socket.data
    }

    // socket.join(`user:${user.id}`), once the socket is connected
    return Response.json({
        data: { user },
        push: [{ op: 'join', rooms: [sid], room: `user:${user.id}` }],
    });
}
