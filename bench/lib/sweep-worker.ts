/**
 * A worker thread of the sweep (bench/sweep.ts): runs each seed it is sent and posts the verdict back.
 * Runs are CPU-bound and independent, so one worker per core is what makes the sweep use them all.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { sweepSeed } from '../sweep.js'

const { nodesMax } = workerData as { nodesMax: number }
parentPort!.on('message', (seed: number) => {
  void sweepSeed(seed, nodesMax).then((r) => parentPort!.postMessage(r))
})
