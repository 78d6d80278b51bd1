// docs/migrating-from-node/jobs/notify-redis.mjs
// A job worker that used @socket.io/redis-emitter keeps it, unchanged:
// nginx with `ws_redis` speaks the Redis adapter's format.
import { createClient } from 'redis';
import { Emitter } from '@socket.io/redis-emitter';

export async function connectEmitter(url) {
    const redis = createClient({ url });
    await redis.connect();
    return { io: new Emitter(redis), quit: () => redis.quit() };
}

export function notifyUser(io, userId, notification) {
    io.of('/notifications').to(`user:${userId}`)
        .emit('notification', notification);
}
