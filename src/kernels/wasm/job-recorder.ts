// Recording a run of kernel jobs and running it again without the JavaScript that issued them
// (Engine.jobRecording; docs/engine.md "Replayed decode steps"). A cached decode step issues the
// same ~60 jobs with the same arguments step after step; what changes (the key counts of the
// attention, copies into the caches, the step's token and position) is the caller's, kept in
// live sections that run again at every replay. Replaying skips the model's, the validation's and
// the argument marshalling's JavaScript: only the pool's dispatch remains per job.
import type { JobRecording, LiveSection, RecordedJobs } from '../../engine.js';
import type { KernelSet } from '../types.js';
import type { KernelExport, ThreadRunner } from './exports.js';

/** What the backend does around a job besides dispatching it, again at each replay. */
export interface JobHooks {
  /** Before the job: may rewrite its arguments (a product's thread split) or write its parameters into memory (rotary frequencies). */
  readonly prepare?: (args: number[]) => void;
  /** After the job (a product's split balancer observing the wait). */
  readonly finish?: () => void;
}

type Entry =
  | { readonly fn: KernelExport; readonly args: number[]; readonly nth: number; readonly hooks: JobHooks | undefined }
  | { readonly live: () => void };

/** The backend's side: every job goes through run(); paths a replay cannot repeat call refuse(). */
export class JobRecorder implements JobRecording {
  private entries: Entry[] | null = null;
  private liveDepth = 0;
  private refusal: string | null = null;
  private replaying = false;

  /** kernelsOf: the kernel set whose jobs these are (made after the recorder, which its methods use). */
  constructor(private readonly runner: ThreadRunner, private readonly kernelsOf: () => KernelSet) {}

  get kernels(): KernelSet { return this.kernelsOf(); }

  /** Dispatches a job, recording it when a recording is open and this is not inside a live section. */
  run(fn: KernelExport, args: readonly number[], nth: number, hooks?: JobHooks): void {
    if (this.entries && this.liveDepth === 0) this.entries.push({ fn, args: args.slice(), nth, hooks });
    this.runner.run(fn, args, nth);
  }

  /** A path whose effect a replay would not repeat (work outside the pool, a result read back into JavaScript). */
  refuse(reason: string): void {
    if (this.entries && this.liveDepth === 0) this.refusal ??= reason;
  }

  record(body: (live: LiveSection) => void): RecordedJobs | { readonly refused: string } {
    if (this.entries) throw new Error('record: a recording is already open (recordings do not nest)');
    if (this.replaying) throw new Error('record: cannot record while a recording is being replayed');
    const entries: Entry[] = [];
    this.entries = entries;
    this.refusal = null;
    this.liveDepth = 0;
    const live: LiveSection = (fn) => {
      // Called when no recording is open (from inside a replayed section, or later) it simply runs.
      if (this.entries === null) { fn(); return; }
      // Inside another recording its jobs would be run once and then lost: neither recorded there nor
      // replayed here. (Inside one of that recording's own live sections they would be re-run with it;
      // refused all the same: a closure kept from an earlier recording is a caller's mistake.)
      if (this.entries !== entries) throw new Error('live: a live section of an earlier recording was called while another recording is open');
      // A section inside a section is part of it.
      if (this.liveDepth === 0) entries.push({ live: fn });
      this.liveDepth++;
      try { fn(); } finally { this.liveDepth--; }
    };
    try {
      body(live);
    } finally {
      this.entries = null;
      this.liveDepth = 0;
    }
    if (this.refusal !== null) return { refused: this.refusal };
    const jobs = entries.filter((e) => !('live' in e)).length;
    return { jobs, liveSections: entries.length - jobs, replay: () => this.replay(entries) };
  }

  private replay(entries: readonly Entry[]): void {
    if (this.entries) throw new Error('replay: cannot replay while a recording is open');
    this.replaying = true;
    try {
      for (const e of entries) {
        if ('live' in e) { e.live(); continue; }
        e.hooks?.prepare?.(e.args);
        this.runner.run(e.fn, e.args, e.nth);
        e.hooks?.finish?.();
      }
    } finally {
      this.replaying = false;
    }
  }
}
