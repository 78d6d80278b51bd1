// docs/migrating-from-node/lib/presence.mjs
// Who is online, by socket id: the app's own, the same before and after.
export const online = new Map();

export function markOnline(sid, user) {
    online.set(sid, user.id);
}

export function markOffline(sid) {
    online.delete(sid);
}
