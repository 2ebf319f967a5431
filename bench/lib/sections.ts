import type { RunningAzurite } from '../../dev/azurite';
import type { TlsMaterial } from '../../dev/fakes/serve';
import type { ProductProcess } from './productProcess';
import type { StorageProxy } from '../../dev/storageProxy';
import type { Figure } from './stats';
import type { BenchWorld } from './world';

/** What bench/run.ts parsed from the command line and the environment. */
export interface BenchOptions {
  latencyMs: number;
  loadCustomers: number;
  loadLatencyMs: number;
  /** Customers on each side of the reconciliation section. */
  reconcileCustomers: number;
  /** Section names to run, in the order of SECTIONS. */
  only: Set<string>;
  build: boolean;
  json: string | undefined;
}

/** What the runner has started for a section; each part exists when the section's `needs` asks for it. */
export interface BenchContext {
  options: BenchOptions;
  log(message: string): void;
  /** Aborted when the section passes its deadline: waits and child processes it started stop. */
  signal: AbortSignal;
  /** needs 'world' or 'product': Azurite in memory (the load and reconcile sections start one of their own). */
  azurite?: RunningAzurite;
  /** needs 'world' or 'product': the fakes on their own sockets, at options.latencyMs. */
  world?: BenchWorld;
  tls?: TlsMaterial;
  /** needs 'product' or 'countedProduct': the local Functions host with queue listeners, shared by consecutive sections of the same need. */
  product?: ProductProcess;
  /** needs 'countedProduct': counts the storage transactions of `product`, which reaches Azurite through it. */
  storageCounter?: StorageProxy;
}

/**
 * One part of `npm run bench`, selected with `--only <name>`: one file in bench/sections/, exporting this. Sections
 * run in the order of the SECTIONS list in bench/run.ts; to add one, write `run` (return figures made with
 * judged/info from ./stats, each next to its target) and list it there. A section that throws is reported as one
 * ERROR row and the others still run.
 */
export interface BenchSection {
  /** The --only name: lower case, no spaces. */
  name: string;
  /** The row prefix of an ERROR figure when `run` throws. */
  title: string;
  /**
   * 'none': nothing started; 'world': Azurite and the fakes; 'product': also the local host with queue listeners;
   * 'countedProduct': the same host reaching storage through a counting proxy (dev/storageProxy.ts), which
   * costs CPU, so timed sections use 'product'.
   */
  needs: 'none' | 'world' | 'product' | 'countedProduct';
  /**
   * The most this section may take on a loaded machine before the runner stops it and reports why (10 minutes
   * when absent). A bound, not an expectation: every wait inside a section has its own, shorter bound too.
   */
  deadlineMs?: number;
  run(context: BenchContext): Promise<Figure[]> | Figure[];
}
