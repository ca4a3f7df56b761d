#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
//
// BullMQ peer benchmark for Hypercore. Runs the same workloads as the C++
// bench against a redis-server that the caller started (see
// scripts/bench-peer-bullmq.sh) and writes one JSON file of results.
//
// Usage:
//   node bench.js --port P --mode always|everysec --out FILE
//                 [--jobs N] [--runs R] [--chains K] [--concurrency C] [--smoke]
//                 [--only WORKLOAD,...]   (debugging: run only these workloads)
//
// Only 127.0.0.1 is ever contacted.
'use strict';

const fs = require('fs');
const os = require('os');
const { performance } = require('perf_hooks');
const { Queue, Worker, FlowProducer } = require('bullmq');
const IORedis = require('ioredis');

// ---------------------------------------------------------------- arguments

function usage(msg) {
  if (msg) process.stderr.write(`bench.js: ${msg}\n`);
  process.stderr.write(
    'usage: node bench.js --port P --mode always|everysec --out FILE ' +
      '[--jobs N] [--runs R] [--chains K] [--concurrency C] [--smoke] ' +
      '[--only W1,W2]\n',
  );
  process.exit(2);
}

function parseArgs(argv) {
  const a = {
    port: null,
    mode: null,
    out: null,
    jobs: null,
    runs: null,
    chains: null,
    concurrency: 50,
    smoke: false,
    only: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) usage(`${k} needs a value`);
      return argv[++i];
    };
    const int = () => {
      const v = Number(val());
      if (!Number.isInteger(v) || v <= 0) usage(`${k} needs a positive integer`);
      return v;
    };
    switch (k) {
      case '--port': a.port = int(); break;
      case '--mode': a.mode = val(); break;
      case '--out': a.out = val(); break;
      case '--jobs': a.jobs = int(); break;
      case '--runs': a.runs = int(); break;
      case '--chains': a.chains = int(); break;
      case '--concurrency': a.concurrency = int(); break;
      case '--smoke': a.smoke = true; break;
      case '--only': a.only = val().split(','); break;
      case '-h': case '--help': usage(); break;
      default: usage(`unknown argument ${k}`);
    }
  }
  if (!a.port) usage('--port is required');
  if (a.mode !== 'always' && a.mode !== 'everysec') usage('--mode must be always or everysec');
  if (!a.out) usage('--out is required');
  if (a.jobs === null) a.jobs = a.smoke ? 500 : 100000;
  if (a.runs === null) a.runs = a.smoke ? 1 : 3;
  if (a.chains === null) a.chains = a.smoke ? 2000 : 10000;
  return a;
}

const args = parseArgs(process.argv.slice(2));
const connection = { host: '127.0.0.1', port: args.port };

// Sizes of each workload. The smoke run keeps every workload tiny.
const SIZES = {
  batchJobs: args.jobs, // throughput-batch and throughput-keyed
  batchSize: 1000,
  singleJobs: Math.max(1, Math.floor(args.jobs / 5)), // throughput-single
  singleAdders: 32,
  latencySeconds: args.smoke ? 1 : 5,
  latencyRates: [
    ['latency-1k', 1000],
    ['latency-10k', 10000],
  ],
  chains: args.chains,
  chainBatch: 1000,
};

// A run that does not finish in this time is a failure, not a hang.
const RUN_TIMEOUT_MS = 10 * 60 * 1000;

const log = (msg) => process.stderr.write(`[bullmq-${args.mode}] ${msg}\n`);

// ---------------------------------------------------------------- helpers

function percentile(sorted, p) {
  // Nearest-rank percentile over an ascending array.
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[idx];
}

function median(xs) {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function round(x, digits) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

// A promise with external resolve/reject plus a watchdog timer.
function deferred(label) {
  let resolve, reject;
  const p = new Promise((res, rej) => { resolve = res; reject = rej; });
  const timer = setTimeout(
    () => reject(new Error(`${label}: timed out after ${RUN_TIMEOUT_MS / 1000}s`)),
    RUN_TIMEOUT_MS,
  );
  p.finally(() => clearTimeout(timer)).catch(() => {});
  return { promise: p, resolve, reject };
}

let queueSeq = 0;
function freshQueueName(workload) {
  queueSeq += 1;
  return `hcbench-${workload}-${process.pid}-${queueSeq}`;
}

// Opens a queue and a no-op worker on a fresh queue name. `onCompleted(job)` is
// called from the worker's local 'completed' event.
async function openQueueAndWorker(workload, onCompleted, onFailed) {
  const name = freshQueueName(workload);
  const queue = new Queue(name, { connection });
  await queue.waitUntilReady();
  const worker = new Worker(name, async () => undefined, {
    connection,
    concurrency: args.concurrency,
  });
  worker.on('completed', onCompleted);
  worker.on('failed', (job, err) =>
    onFailed(new Error(`job ${job && job.id} failed: ${err && err.message}`)));
  worker.on('error', (err) => onFailed(err));
  await worker.waitUntilReady();
  return { name, queue, worker };
}

async function teardown({ queue, worker, flow }) {
  await worker.close();
  if (flow) await flow.close();
  // Clear everything the run left (completed jobs, events stream, meta).
  await queue.obliterate({ force: true });
  await queue.close();
}

// ---------------------------------------------------------------- workloads

// N no-op jobs added with addBulk in batches; jobs/s from the first add to the
// last completion.
async function throughputBulk(workload, n) {
  const done = deferred(workload);
  let completed = 0;
  let tEnd = 0;
  const ctx = await openQueueAndWorker(
    workload,
    () => {
      completed += 1;
      if (completed === n) { tEnd = performance.now(); done.resolve(); }
    },
    done.reject,
  );
  const t0 = performance.now();
  for (let i = 0; i < n; i += SIZES.batchSize) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + SIZES.batchSize); j++) {
      batch.push({ name: 'noop', data: { n: j } });
    }
    await ctx.queue.addBulk(batch);
  }
  await done.promise;
  await teardown(ctx);
  return { jobs_per_s: n / ((tEnd - t0) / 1000) };
}

// N jobs added one at a time with queue.add by `adders` concurrent loops.
async function throughputSingle(workload, n, adders) {
  const done = deferred(workload);
  let completed = 0;
  let tEnd = 0;
  const ctx = await openQueueAndWorker(
    workload,
    () => {
      completed += 1;
      if (completed === n) { tEnd = performance.now(); done.resolve(); }
    },
    done.reject,
  );
  let next = 0;
  const adder = async () => {
    for (;;) {
      const i = next++;
      if (i >= n) return;
      await ctx.queue.add('noop', { n: i });
    }
  };
  const t0 = performance.now();
  const pool = [];
  for (let k = 0; k < adders; k++) pool.push(adder());
  await Promise.all([Promise.all(pool).catch((e) => { done.reject(e); }), done.promise]);
  await teardown(ctx);
  return { jobs_per_s: n / ((tEnd - t0) / 1000) };
}

// Open-loop offered load: job i is due at t0 + i/rate. Each job is sent with
// queue.add as soon as it is due (late sends are not skipped), and its latency
// is measured from its *scheduled* time to its completion, so a slow system
// cannot hide queueing delay by slowing the sender (no coordinated omission).
async function latencyOpenLoop(workload, rate, seconds) {
  const total = rate * seconds;
  const sched = new Float64Array(total);
  const lat = new Float64Array(total).fill(NaN);
  const done = deferred(workload);
  let completed = 0;
  const ctx = await openQueueAndWorker(
    workload,
    (job) => {
      const i = job.data.n;
      lat[i] = performance.now() - sched[i];
      completed += 1;
      if (completed === total) done.resolve();
    },
    done.reject,
  );
  const intervalMs = 1000 / rate;
  let sent = 0;
  const t0 = performance.now() + 5; // small head start so job 0 is not late
  for (let i = 0; i < total; i++) sched[i] = t0 + i * intervalMs;

  await new Promise((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (sent < total && sched[sent] <= now) {
        const i = sent++;
        ctx.queue.add('noop', { n: i }).catch((e) => done.reject(e));
      }
      if (sent >= total) { resolve(); return; }
      // Sleep until the next job is due (timers have ~1 ms granularity; a
      // job sent up to ~1 ms late is still timed from its scheduled time).
      // No busy-waiting: that would steal a core from redis and the worker.
      const wait = sched[sent] - performance.now();
      setTimeout(tick, Math.max(1, Math.floor(wait)));
    };
    tick();
  });
  await done.promise;
  await teardown(ctx);
  const sorted = Array.from(lat).sort((x, y) => x - y);
  if (sorted.some(Number.isNaN)) throw new Error(`${workload}: missing latencies`);
  return {
    p50_ms: percentile(sorted, 0.5),
    p99_ms: percentile(sorted, 0.99),
    p999_ms: percentile(sorted, 0.999),
  };
}

// 3-step chains as BullMQ flows: step3 (root) <- step2 <- step1 (leaf). BullMQ
// runs children before parents, so a chain is done when its root completes.
// All chains are submitted up front with FlowProducer.addBulk in batches; the
// per-chain latency runs from the start of its batch's addBulk call to its
// root's completion, so it includes waiting behind the backlog.
async function chain3(workload, chains) {
  const submitted = new Float64Array(chains);
  const lat = new Float64Array(chains).fill(NaN);
  const done = deferred(workload);
  let roots = 0;
  let tEnd = 0;
  const ctx = await openQueueAndWorker(
    workload,
    (job) => {
      if (job.name !== 'step3') return;
      const i = job.data.n;
      lat[i] = performance.now() - submitted[i];
      roots += 1;
      if (roots === chains) { tEnd = performance.now(); done.resolve(); }
    },
    done.reject,
  );
  ctx.flow = new FlowProducer({ connection });
  await ctx.flow.waitUntilReady();
  const q = ctx.name;
  const t0 = performance.now();
  for (let i = 0; i < chains; i += SIZES.chainBatch) {
    const flows = [];
    const hi = Math.min(chains, i + SIZES.chainBatch);
    for (let j = i; j < hi; j++) {
      flows.push({
        name: 'step3', queueName: q, data: { n: j },
        children: [{
          name: 'step2', queueName: q, data: { n: j },
          children: [{ name: 'step1', queueName: q, data: { n: j } }],
        }],
      });
    }
    const ts = performance.now();
    for (let j = i; j < hi; j++) submitted[j] = ts;
    await ctx.flow.addBulk(flows);
  }
  await done.promise;
  await teardown(ctx);
  const sorted = Array.from(lat).sort((x, y) => x - y);
  if (sorted.some(Number.isNaN)) throw new Error(`${workload}: missing latencies`);
  return {
    chains_per_s: chains / ((tEnd - t0) / 1000),
    p50_ms: percentile(sorted, 0.5),
    p99_ms: percentile(sorted, 0.99),
  };
}

// ---------------------------------------------------------------- main

async function redisInfo() {
  const r = new IORedis({ ...connection, lazyConnect: true, maxRetriesPerRequest: 1 });
  await r.connect();
  const info = await r.info('server');
  const m = /redis_version:([^\r\n]+)/.exec(info);
  const [, appendfsync] = await r.config('GET', 'appendfsync');
  const [, appendonly] = await r.config('GET', 'appendonly');
  await r.quit();
  return { version: m ? m[1] : 'unknown', appendfsync, appendonly };
}

async function main() {
  const info = await redisInfo();
  if (info.appendonly !== 'yes' || info.appendfsync !== args.mode) {
    throw new Error(
      `redis on port ${args.port} has appendonly=${info.appendonly} ` +
        `appendfsync=${info.appendfsync}; expected yes/${args.mode}`,
    );
  }
  log(`redis ${info.version}, appendfsync ${info.appendfsync}, ` +
      `worker concurrency ${args.concurrency}, runs ${args.runs}, ` +
      `jobs ${SIZES.batchJobs}, chains ${SIZES.chains}`);

  const workloads = [
    ['throughput-batch', () => throughputBulk('throughput-batch', SIZES.batchJobs)],
    ['throughput-single', () => throughputSingle('throughput-single', SIZES.singleJobs, SIZES.singleAdders)],
    // OSS BullMQ has no per-key ordering (that is BullMQ Pro "groups"): the
    // keyed workload is the batch workload with group-less jobs, an upper
    // bound for BullMQ. See README.md.
    ['throughput-keyed', () => throughputBulk('throughput-keyed', SIZES.batchJobs)],
    ...SIZES.latencyRates.map(([w, rate]) =>
      [w, () => latencyOpenLoop(w, rate, SIZES.latencySeconds)]),
    ['chain3', () => chain3('chain3', SIZES.chains)],
  ];

  const system = `bullmq-${args.mode}`;
  const results = [];
  for (const [workload, fn] of workloads) {
    if (args.only && !args.only.includes(workload)) continue;
    const perMetric = new Map();
    for (let r = 0; r < args.runs; r++) {
      const t = performance.now();
      const res = await fn();
      const secs = (performance.now() - t) / 1000;
      const shown = Object.entries(res).map(([k, v]) => `${k}=${round(v, 2)}`).join(' ');
      log(`${workload} run ${r + 1}/${args.runs}: ${shown} (${secs.toFixed(1)}s)`);
      for (const [metric, v] of Object.entries(res)) {
        if (!Number.isFinite(v)) throw new Error(`${workload}: ${metric} is ${v}`);
        if (!perMetric.has(metric)) perMetric.set(metric, []);
        perMetric.get(metric).push(v);
      }
    }
    for (const [metric, vs] of perMetric) {
      const digits = metric.endsWith('_ms') ? 3 : 1;
      results.push({
        system,
        workload,
        durable: args.mode === 'always',
        metric,
        median: round(median(vs), digits),
        min: round(Math.min(...vs), digits),
        max: round(Math.max(...vs), digits),
        runs: vs.length,
      });
    }
  }

  const out = {
    machine: { cores: os.cpus().length, node: process.version, redis: info.version },
    date: new Date().toISOString(),
    results,
  };
  fs.writeFileSync(args.out, JSON.stringify(out, null, 2) + '\n');
  log(`wrote ${args.out}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench.js: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  },
);
