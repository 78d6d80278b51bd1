// docs/migrating-from-node/lib/auth.mjs
// The app's own session code, the same before and after: who is logged in,
// from the session cookie.  (A real app asks its session store.)
const sessions = new Map([
    ['s-ada', { id: 1, name: 'ada' }],
    ['s-bob', { id: 2, name: 'bob' }],
]);

export function userFromCookie(cookie) {
    const m = /(?:^|;\s*)session=([^;]*)/.exec(cookie || '');
    return m ? sessions.get(m[1]) ?? null : null;
}
