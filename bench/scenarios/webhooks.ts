import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type autocannon from 'autocannon';
import { Client } from 'pg';
import Stripe from 'stripe';
import { PROJECT_ROOT } from '../../src/common/paths';
import { AppProcess, BENCH_SECRETS } from '../lib/app-process';
import { assertClean, drive, type LoadResult } from '../lib/load';
import { ms, ratio } from '../lib/report';
import type { Scenario } from '../lib/scenario';

const TARGET_PER_SECOND = 1_000;
/** Database connections on both sides: the app (DATABASE_POOL_MAX) and the baseline alike. */
const POOL_MAX = 10;

/**
 * Webhook ingestion at saturation: N signed Stripe events, each with its own
 * id, POSTed to `/webhooks/stripe` of the production app by autocannon as
 * fast as it acknowledges them, then checked: every answer 200 and exactly N
 * events stored. `payment_intent.succeeded` for payments we never made: the
 * route stores and acknowledges them like any other, and the event job
 * (running meanwhile, as in production) finds nothing to settle. Baseline: a
 * bare node:http server in a child process that verifies the signature with
 * the same library call and inserts the row with pg.
 */
export const webhooks: Scenario = {
  name: 'webhooks',
  description: 'webhook ingestion rate (signed Stripe events stored and acknowledged)',
  async run({ options, postgres, scratch, report }) {
    const n = options.webhooks;
    const connections = Math.min(options.connections, n);
    const url = await postgres.create('webhooks');
    const db = new Client({ connectionString: url });
    try {
      const app = await AppProcess.start({
        databaseUrl: url,
        dataDir: join(scratch, 'webhooks-app'),
        env: { DATABASE_POOL_MAX: String(POOL_MAX) },
      });
      let ours: LoadResult;
      try {
        ours = await post(app.url, events('ours', n), connections);
      } finally {
        await app.stop();
      }
      await db.connect();
      await expectStored(db, 'ours', n);

      const raw = await startRawServer(url);
      let baseline: LoadResult;
      try {
        baseline = await post(raw.url, events('raw', n), connections);
      } finally {
        await raw.stop();
      }
      await expectStored(db, 'raw', n);

      report.figure('webhooks', { events: n, connections, ours, baseline });
      report.add({
        group: 'webhooks',
        scenario: `${n} signed Stripe events, ${connections} connections (stored + acknowledged)`,
        ours: `${ours.rps.toFixed(0)}/s (p99 ${ms(ours.p99)})`,
        baseline: `${baseline.rps.toFixed(0)}/s (p99 ${ms(baseline.p99)}, node:http + pg)`,
        ratio: ratio(baseline.rps, ours.rps),
        target: `≥ ${TARGET_PER_SECOND}/s`,
        met: ours.rps >= TARGET_PER_SECOND,
      });
    } finally {
      await db.end().catch(() => undefined);
      await postgres.drop('webhooks');
    }
  },
};

/** N event bodies with distinct ids (`evt_bench_<run>_<i>`), for payments we never made. */
function events(run: string, n: number): string[] {
  const created = Math.floor(Date.now() / 1000);
  return Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      id: `evt_bench_${run}_${i}`,
      object: 'event',
      api_version: '2025-01-27.acacia',
      created,
      livemode: false,
      type: 'payment_intent.succeeded',
      data: {
        object: {
          id: `pi_bench_${run}_${i}`,
          object: 'payment_intent',
          amount: 1200,
          currency: 'usd',
          status: 'succeeded',
          metadata: {},
        },
      },
    }),
  );
}

/**
 * Each event exactly once, spread over the connections, as fast as the server
 * answers; signed as it is sent with the app's webhook secret (a signature is
 * accepted for five minutes, a slow run can take longer).
 */
async function post(url: string, payloads: string[], connections: number): Promise<LoadResult> {
  let next = 0;
  const request: autocannon.Request = {
    method: 'POST',
    path: '/webhooks/stripe',
    setupRequest: (req) => {
      const payload = payloads[next++];
      if (payload === undefined) throw new Error('more requests than events');
      const signature = Stripe.webhooks.generateTestHeaderString({
        payload,
        secret: BENCH_SECRETS.STRIPE_WEBHOOK_SECRET,
      });
      return {
        ...req,
        body: payload,
        headers: {
          ...req.headers,
          'content-type': 'application/json',
          'stripe-signature': signature,
        },
      };
    },
  };
  const result = await drive(
    { name: 'POST /webhooks/stripe', requests: [request] },
    { url, connections, durationSeconds: 0, amount: payloads.length },
  );
  assertClean(result);
  if (result.requests !== payloads.length) {
    throw new Error(`${result.requests} of ${payloads.length} webhook deliveries were answered`);
  }
  return result;
}

async function expectStored(db: Client, run: string, n: number): Promise<void> {
  const { rows } = await db.query<{ stored: number }>(
    `select count(*)::int as stored from platform.gateway_event where id like $1`,
    [`evt\\_bench\\_${run}\\_%`],
  );
  if (rows[0].stored !== n) {
    throw new Error(`${rows[0].stored} of ${n} webhook events stored (${run})`);
  }
}

/** The baseline server (bench/lib/raw-webhook-server.ts) as a child process. */
async function startRawServer(
  databaseUrl: string,
): Promise<{ url: string; stop(): Promise<void> }> {
  const child = spawn(
    process.execPath,
    [join(PROJECT_ROOT, 'dist/bench/lib/raw-webhook-server.js')],
    {
      cwd: PROJECT_ROOT,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        DATABASE_URL: databaseUrl,
        STRIPE_WEBHOOK_SECRET: BENCH_SECRETS.STRIPE_WEBHOOK_SECRET,
        POOL_MAX: String(POOL_MAX),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening (\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child.on('exit', (code) => reject(new Error(`the baseline server exited (${code})`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
