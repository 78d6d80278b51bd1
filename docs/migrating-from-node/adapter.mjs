// docs/migrating-from-node/adapter.mjs
// The route handlers without Next.js (for the tests): node:http, a Web
// Request, the POST export of app/<path>/route.mjs, the Response back.
import http from 'node:http';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const app = new URL('./app/', import.meta.url);

async function toRequest(req) {
    const chunks = [];
    for await (const chunk of req) {
        chunks.push(chunk);
    }
    const body = chunks.length ? Buffer.concat(chunks) : undefined;
    return new Request(new URL(req.url, `http://${req.headers.host}`), {
        method: req.method,
        headers: Object.entries(req.headers).map(([k, v]) => [k, String(v)]),
        body: req.method === 'GET' || req.method === 'HEAD' ? undefined : body,
    });
}

async function handle(req, res) {
    const request = await toRequest(req);
    const { pathname } = new URL(request.url);
    const file = new URL(`.${pathname}/route.mjs`, app);
    const route = file.href.startsWith(app.href)
        && existsSync(fileURLToPath(file)) ? await import(file) : null;
    const handler = route?.[request.method];
    const response = handler ? await handler(request)
                             : new Response('not found', { status: 404 });
    const body = Buffer.from(await response.arrayBuffer());
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(body);
}

export function serve(port = 0, host = '127.0.0.1') {
    const server = http.createServer((req, res) => {
        handle(req, res).catch((err) => {
            res.writeHead(500).end(String(err));
        });
    });
    return new Promise((resolve) => server.listen(port, host,
        () => resolve(server)));
}
