/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

// The install test's client (t/deb-install.sh): the stock socket.io-client,
// with its defaults, against the nginx of a fresh Debian 12 root that runs
// the packaged module.  It connects to /news, waits for the upgrade to
// WebSocket, pushes a headline through the site's push endpoint the way an
// application does, and exits 0 once the headline has arrived.
//
//   node t/e2e/deb-client.mjs http://127.0.0.1:PORT

import { io, connected, once } from './lib/sio.mjs';

const base = process.argv[2];

async function main() {
    const socket = io(`${base}/news`, { reconnection: false });

    try {
        await connected(socket);
        const engine = socket.io.engine;
        if (engine.transport.name !== 'websocket') {
            await once(engine, 'upgrade');
        }

        const headline = once(socket, 'headline');
        const res = await fetch(`${base}/_ws/push`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ nsp: '/news', event: 'headline',
                                   data: ['installed with apt'] }),
        });
        const answer = await res.text();
        if (res.status !== 200 || JSON.parse(answer).matched !== 1) {
            throw new Error(`push answered ${res.status} ${answer}`);
        }
        const [text] = await headline;
        if (text !== 'installed with apt') {
            throw new Error(`headline ${JSON.stringify(text)}`);
        }
        console.log(`socket.io-client: connected over ${engine.transport.name},`
                    + ` push matched 1, got "${text}"`);
    } finally {
        socket.close();
    }
}

main().catch((err) => {
    console.error(`socket.io-client: ${err.message}`);
    process.exit(1);
});
