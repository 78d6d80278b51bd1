// Copyright (C) 2026 The ngx_ws authors
// SPDX-License-Identifier: BSD-2-Clause
//
// The application behind nginx for socket.io's v5 protocol test suite
// (socketio/socket.io, docs/socket.io-protocol/v5-test-suite), the same
// as the suite's reference server, with ngx_ws's app hooks:
//
//   io.of(nsp).on("connection", (socket) => {
//     socket.emit("auth", socket.handshake.auth);
//     socket.on("message", (...args) => socket.emit("message-back", ...args));
//     socket.on("message-with-ack", (...args) => args.pop()(...args.slice(0, -1)));
//   });
//
// Binary attachments reach the app as {"$binary":"<base64>"} in "args" and
// go back as they came: nginx sends them as attachments again.
//
// No npm packages: node:http only.  Listens on 127.0.0.1, on the port
// given as argv[2] (0: any free one); once listening, writes the port to
// the file argv[3] (if given) for run.sh to put into nginx.conf.

"use strict";

const http = require("node:http");
const fs = require("node:fs");

const port = Number(process.argv[2] || 0);
const portFile = process.argv[3];
const verbose = process.env.APP_VERBOSE === "1";

// One hook call: the JSON nginx sent in, the JSON it gets back.
function hook(req) {
  switch (req.type) {
    case "connect":
      // accepted; then emit "auth" to this socket alone
      return {
        push: [{ event: "auth", rooms: [req.sid], data: [req.auth] }],
      };

    case "event":
      if (req.event === "message") {
        return {
          push: [{ event: "message-back", rooms: [req.sid], data: req.args }],
        };
      }
      if (req.event === "message-with-ack") {
        // nginx sends the ACK only if the client asked for one
        return { ack: req.args };
      }
      return {};

    default: // "disconnect": nothing to do
      return {};
  }
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    let status = 200;
    let out;
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      out = JSON.stringify(hook(body));
      if (verbose) {
        console.log(`app: ${JSON.stringify(body)} -> ${out}`);
      }
    } catch (err) {
      status = 400;
      out = JSON.stringify({ error: String(err) });
      console.error(`app: ${req.method} ${req.url}: ${err}`);
    }
    res.writeHead(status, {
      "Content-Type": "application/json",
      "Content-Length": Buffer.byteLength(out),
    });
    res.end(out);
  });
});

server.keepAliveTimeout = 60000;

server.listen(port, "127.0.0.1", () => {
  const actual = server.address().port;
  if (portFile) {
    fs.writeFileSync(portFile, `${actual}\n`);
  }
  console.log(`app: hooks on http://127.0.0.1:${actual}/`);
});

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  });
}
