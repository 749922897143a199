// TCP peers for the tcpconnect / tcplife / tcpretrans end-to-end tests: small
// node programs run as their own processes (own PID, comm set to a marker via
// process.title), so the tools' attribution can be checked exactly.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SCRIPT = String.raw`
import net from 'node:net';
import readline from 'node:readline';
const [mode, title, ...args] = process.argv.slice(2);
process.title = title;
const say = (o) => process.stdout.write(JSON.stringify({ pid: process.pid, ...o }) + '\n');
const go = () => new Promise((r) => {
	if (process.env.WAIT_GO !== '1') return r();
	say({ waiting: true });
	readline.createInterface({ input: process.stdin }).once('line', () => r());
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

if (mode === 'server') {
	// server HOST RXBYTES TXBYTES: read RX bytes, reply TX bytes, close when the peer does
	const [host, rx, tx] = [args[0], Number(args[1]), Number(args[2])];
	const srv = net.createServer((c) => {
		let got = 0, replied = false;
		c.on('data', (d) => {
			got += d.length;
			if (!replied && got >= rx) { replied = true; c.write(Buffer.alloc(tx, 121)); }
		});
		c.on('end', () => c.end());
		c.on('error', () => {});
	});
	srv.listen(0, host, () => say({ port: srv.address().port }));
} else if (mode === 'connect') {
	// connect HOST PORT N: N sequential connects, each closed at once
	const [host, port, n] = [args[0], Number(args[1]), Number(args[2])];
	await go();
	const results = [];
	for (let i = 0; i < n; i++) {
		results.push(await new Promise((r) => {
			const s = net.connect({ host, port });
			s.on('connect', () => { const lp = s.localPort; s.destroy(); r({ ok: true, lport: lp }); });
			s.on('error', (e) => r({ ok: false, code: e.code }));
		}));
	}
	say({ done: true, results });
} else if (mode === 'session') {
	// session HOST PORT TX RX HOLD_MS...: one session per HOLD: send TX bytes,
	// read RX bytes, wait HOLD ms, close
	const [host, port, tx, rx] = [args[0], Number(args[1]), Number(args[2]), Number(args[3])];
	await go();
	const sessions = [];
	for (const hold of args.slice(4).map(Number)) {
		sessions.push(await new Promise((r) => {
			const s = net.connect({ host, port });
			let got = 0, lport = 0, t0 = 0;
			s.on('connect', () => { lport = s.localPort; t0 = Date.now(); s.write(Buffer.alloc(tx, 120)); });
			s.on('data', async (d) => {
				got += d.length;
				if (got === rx) { await sleep(hold); s.end(); }
			});
			s.on('close', () => r({ lport, hold, got, ms: Date.now() - t0 }));
			s.on('error', () => {});
		}));
	}
	say({ done: true, sessions });
}
`;

export class Peer {
	out = '';
	readonly child: ChildProcess;
	constructor(argv: string[], env: Record<string, string> = {}) {
		this.child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, ...env } });
		this.child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.out += d));
	}
	get pid(): number {
		return this.child.pid!;
	}
	/** The next JSON line that has the key. */
	async message<T = Record<string, any>>(key: string, timeoutMs = 30000): Promise<T> {
		const t0 = Date.now();
		for (;;) {
			for (const l of this.out.split('\n')) {
				if (!l.trim()) continue;
				const o = JSON.parse(l);
				if (key in o) return o as T;
			}
			if (this.child.exitCode !== null && !this.out.includes(`"${key}"`)) throw new Error(`peer exited (${this.child.exitCode}) without ${key}: ${this.out}`);
			if (Date.now() - t0 > timeoutMs) throw new Error(`peer: no ${key} after ${timeoutMs} ms: ${this.out}`);
			await new Promise((r) => setTimeout(r, 10));
		}
	}
	go(): void {
		this.child.stdin!.write('go\n');
	}
	kill(): void {
		if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
	}
}

export class Workload {
	readonly dir = mkdtempSync(join(tmpdir(), 'ebt-tcp-'));
	readonly script = join(this.dir, 'peer.mjs');
	private peers: Peer[] = [];
	constructor() {
		writeFileSync(this.script, SCRIPT);
	}
	/** Start a peer (optionally wrapped, e.g. ['ip', 'netns', 'exec', NS]). */
	start(mode: string, title: string, args: (string | number)[], opts: { wrap?: string[]; waitGo?: boolean } = {}): Peer {
		const p = new Peer([...(opts.wrap ?? []), process.execPath, this.script, mode, title, ...args.map(String)], opts.waitGo ? { WAIT_GO: '1' } : {});
		this.peers.push(p);
		return p;
	}
	close(): void {
		for (const p of this.peers) p.kill();
		rmSync(this.dir, { recursive: true, force: true });
	}
}

/** A loopback port nobody listens on (bound, then released). */
export async function closedPort(host: string): Promise<number> {
	return new Promise((resolve, reject) => {
		const s = createServer();
		s.on('error', reject);
		s.listen(0, host, () => {
			const p = (s.address() as { port: number }).port;
			s.close(() => resolve(p));
		});
	});
}

/** A comm-sized marker (<= 15 chars, the kernel's TASK_COMM_LEN - 1). */
export function commMarker(prefix: string): string {
	return `${prefix}${Math.random().toString(36).slice(2, 10)}`.slice(0, 12);
}
