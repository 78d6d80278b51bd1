/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * The benchmark's minimal app behind ngx_ws's hooks (node:http only, no
 * npm dependencies): every hook call is a POST of JSON, answered at once.
 *
 *   {"type":"event",...,"args":[...],"ack":true} -> {"ack":[...args]}
 *       (the same as Node's socket.on("msg", (...a) => a.pop()(...a)))
 *   {"type":"event",...,"ack":false}             -> {}
 *   {"type":"connect",...}                       -> {}   (let in)
 *   {"type":"disconnect",...}                    -> {}
 *
 * Usage: node app.mjs [PORT]    (listens on 127.0.0.1)
 */

import http from 'node:http';

const port = Number(process.argv[2] || process.env.PORT || 3001);
const empty = Buffer.from('{}');

function answer(res, body) {
    res.writeHead(200, {
        'Content-Type': 'application/json',
        'Content-Length': body.length,
    });
    res.end(body);
}

const server = http.createServer((req, res) => {
    const chunks = [];

    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
        let j;

        try {
            j = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch (e) {
            res.writeHead(400);
            res.end();
            return;
        }

        if (j && j.type === 'event' && j.ack) {
            answer(res, Buffer.from(JSON.stringify({ ack: j.args })));
            return;
        }
        answer(res, empty);
    });
});

/* nginx keeps idle upstream connections (keepalive 32) for 60 s: the app
   must not close them first, a POST is not retried on another */
server.keepAliveTimeout = 120000;
server.headersTimeout = 130000;

process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));

server.listen(port, '127.0.0.1', () => {
    process.stderr.write('bench app pid ' + process.pid + ' listening on '
        + '127.0.0.1:' + port + '\n');
});
