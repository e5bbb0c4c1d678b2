// Long-running child processes for e2e tests: each runs in its own process group with its output in
// a log file, so a test can stop it with everything it spawned and show what it said before failing.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

export interface ProcessSpec {
  /** Short name used in messages, e.g. `kube-apiserver`. */
  name: string;
  command: string;
  args: string[];
  /** File that receives stdout and stderr. */
  logFile: string;
  /** @default process.env */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** How long a process gets to exit after SIGTERM before its group is sent SIGKILL. */
const STOP_GRACE_MS = 10_000;

const running = new Set<ManagedProcess>();

// If the test runner dies without calling stop(), do not leave servers holding ports behind.
process.once('exit', () => {
  for (const managed of running) managed.killGroup('SIGKILL');
});

export class ManagedProcess {
  readonly spec: ProcessSpec;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  #child: ChildProcess;
  #exitStatus: number | string | undefined;

  constructor(spec: ProcessSpec) {
    this.spec = spec;
    const log = openSync(spec.logFile, 'a');
    try {
      // detached: a new process group, so killGroup also reaches the process's own children.
      this.#child = spawn(spec.command, spec.args, {
        detached: true,
        stdio: ['ignore', log, log],
        env: spec.env ?? process.env,
        cwd: spec.cwd,
      });
    } finally {
      closeSync(log);
    }
    running.add(this);
    this.exited = new Promise((resolve) => {
      const settle = (status: number | string) => {
        this.#exitStatus = status;
        running.delete(this);
        resolve(status);
      };
      this.#child.once('exit', (code, signal) => settle(code ?? signal ?? 'unknown'));
      this.#child.once('error', (error) => settle(error.message));
    });
  }

  get hasExited(): boolean {
    return this.#exitStatus !== undefined;
  }

  /** Throws if the process has already exited; call while waiting for it to become ready. */
  assertRunning(): void {
    if (this.hasExited) {
      throw new Error(`${this.spec.name} exited (${this.#exitStatus}); its log: ${this.spec.logFile}`);
    }
  }

  killGroup(signal: NodeJS.Signals): void {
    if (this.hasExited || this.#child.pid === undefined) return;
    try {
      process.kill(-this.#child.pid, signal);
    } catch {
      // The group is already gone.
    }
  }

  /** SIGTERM the whole group, then SIGKILL it if it lingers. */
  async stop(): Promise<void> {
    if (this.hasExited) return;
    this.killGroup('SIGTERM');
    const timedOut = await Promise.race([
      this.exited.then(() => false),
      sleep(STOP_GRACE_MS).then(() => true),
    ]);
    if (timedOut) {
      this.killGroup('SIGKILL');
      await this.exited;
    }
  }

  log(): string {
    try {
      return readFileSync(this.spec.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  logTail(lines = 40): string {
    const tail = this.log().trimEnd().split('\n').slice(-lines).join('\n');
    return `--- last ${lines} lines of ${this.spec.name} (${this.spec.logFile}) ---\n${tail}`;
  }
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port from listen(0)');
  return address.port;
}

export interface RunOptions {
  input?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Runs a short command to completion; resolves with stdout, rejects with stderr in the message. */
export function run(command: string, args: string[], options: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) {
        resolve(Buffer.concat(stdout).toString('utf8'));
      } else {
        const message = Buffer.concat(stderr).toString('utf8').trim();
        reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${message}`));
      }
    });
    // A command that exits without reading stdin (most do) closes the pipe: EPIPE then is no failure,
    // and unhandled it would crash the test run; the exit code and stderr say what happened.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
