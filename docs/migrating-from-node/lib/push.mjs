// docs/migrating-from-node/lib/push.mjs
// What replaces the `io` object outside nginx: a POST to the push
// endpoint (the site file's variant (a), this host; with WS_PUSH_SECRET,
// variant (b), from another host).
const url = process.env.WS_PUSH_URL ?? 'http://127.0.0.1:8090/_ws/push';
const secret = process.env.WS_PUSH_SECRET;

export async function push(operation) {
    const response = await fetch(url, {
        method: 'POST',
        headers: {
            'Content-Type': 'application/json',
            ...(secret && { Authorization: `Bearer ${secret}` }),
        },
        body: JSON.stringify(operation),
    });
    if (!response.ok) {
        throw new Error(`push: ${response.status} ${await response.text()}`);
    }
    return response.json();                 // {"matched": N}
}
