// docs/migrating-from-node/jobs/notify.mjs
// The job worker's call, which was
//     notifications.to(`user:${userId}`).emit('notification', notification)
import { push } from '../lib/push.mjs';

export function notifyUser(userId, notification) {
    return push({ nsp: '/notifications', rooms: [`user:${userId}`],
                  event: 'notification', data: [notification] });
}
