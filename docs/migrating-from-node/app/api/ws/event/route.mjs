// docs/migrating-from-node/app/api/ws/event/route.mjs
// ws_hook_event: the socket.on(event) handlers.  `data` is what the
// connect hook kept (socket.data); `ack` answers the client's callback;
// `push` runs push operations, `except: [sid]` being socket.to(room).
import { saveMessage } from '../../../../lib/messages.mjs';

export async function POST(request) {
    const { sid, data, event, args } = await request.json();

    switch (event) {
    case 'join': {
        const [room] = args;
        return Response.json({
            ack: [{ ok: true }],
            push: [{ op: 'join', rooms: [sid], room }],
        });
    }

    case 'message': {
        const [room, text] = args;
        const msg = await saveMessage(room, data.user, text);
        return Response.json({
            ack: [{ ok: true, id: msg.id }],
            push: [{ event: 'message', rooms: [room], except: [sid],
                     data: [msg] }],
        });
    }

    default:
        return Response.json({});           // no listener: no ack
    }
}
