/**
 * The webhook scenario's baseline, run as a child process (as the app is):
 * a bare node:http server that does what our route must do and nothing else —
 * verify the Stripe signature over the raw body (the same library call), store
 * the event once by id with pg, acknowledge. Prints `listening <port>` when
 * ready. Environment: DATABASE_URL, STRIPE_WEBHOOK_SECRET, POOL_MAX.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'pg';
import Stripe from 'stripe';

const secret = process.env.STRIPE_WEBHOOK_SECRET ?? '';
const pool = new Pool({
  connectionString: process.env.DATABASE_URL,
  max: Number(process.env.POOL_MAX ?? 10),
});
const stripe = new Stripe('sk_test_bench_baseline_offline');

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const answer = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    let event: Stripe.Event;
    try {
      event = stripe.webhooks.constructEvent(
        Buffer.concat(chunks),
        String(request.headers['stripe-signature'] ?? ''),
        secret,
      );
    } catch {
      answer(400, { error: 'signature' });
      return;
    }
    pool
      .query(
        `insert into platform.gateway_event (id, type, payload, occurred_at, received_at, attempts)
         values ($1, $2, $3, to_timestamp($4), now(), 0) on conflict (id) do nothing`,
        [event.id, event.type, event, event.created],
      )
      .then(
        (result) => answer(200, { id: event.id, duplicate: result.rowCount === 0 }),
        () => answer(500, { error: 'database' }),
      );
  });
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  void pool.end().then(() => process.exit(0));
});
