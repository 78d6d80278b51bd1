// docs/migrating-from-node/app/api/ws/disconnect/route.mjs
// ws_hook_disconnect: socket.on('disconnect', (reason) => ...).  Best
// effort: nginx does not read the answer (a status other than 200 is
// logged).
import { markOffline } from '../../../../lib/presence.mjs';

export async function POST(request) {
    const { nsp, sid } = await request.json();

    if (nsp === '/chat') {
        markOffline(sid);
    }

    return new Response(null, { status: 200 });
}
