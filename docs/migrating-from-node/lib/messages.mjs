// docs/migrating-from-node/lib/messages.mjs
// The app's own storage, the same before and after.  (A real app: its
// database.)
export const saved = [];

export async function saveMessage(room, user, text) {
    const msg = { id: saved.length + 1, room, from: user.name, text };
    saved.push(msg);
    return msg;
}
