/**
 * The floor any Node gateway pays: a pass-through proxy (node:http + an undici pool), nothing else.
 * Usage: tsx bench/bare-proxy.ts <upstream origin> — prints the port it listens on.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Pool } from "undici";

const pool = new Pool(process.argv[2] ?? "http://127.0.0.1:8080", { connections: 256 });
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", async () => {
    try {
      const up = await pool.request({
        path: req.url ?? "/",
        method: "POST",
        headers: { "content-type": "application/json" },
        body: Buffer.concat(chunks),
      });
      res.writeHead(up.statusCode, {
        "content-type": String(up.headers["content-type"] ?? "application/json"),
      });
      for await (const chunk of up.body) res.write(chunk);
      res.end();
    } catch {
      res.writeHead(502).end();
    }
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => console.log((server.address() as AddressInfo).port));
