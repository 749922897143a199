// The tool registry: one line per tool. Modules load lazily, so start-up
// only pays for the tool that runs.
import type { ToolSpec } from './tool.js';

export interface ToolEntry {
	summary: string;
	load: () => Promise<{ default: ToolSpec<any> }>;
}

export const TOOLS: Record<string, ToolEntry> = {
	execsnoop: { summary: 'Trace new processes (exec), with arguments', load: () => import('../tools/execsnoop.js') },
	opensnoop: { summary: 'Trace file opens (open, openat, openat2, creat)', load: () => import('../tools/opensnoop.js') },
	tcpconnect: { summary: 'Trace active TCP connects (connect), with the process', load: () => import('../tools/tcpconnect.js') },
	tcplife: { summary: 'Trace TCP sessions: lifespan, bytes, owning process', load: () => import('../tools/tcplife.js') },
	tcpretrans: { summary: 'Trace TCP retransmits, with the owning process', load: () => import('../tools/tcpretrans.js') },
	profile: { summary: 'Sample CPU stacks (kernel and user) at a timed interval; flame graphs', load: () => import('../tools/profile.js') },
	flamegraph: { summary: 'Turn folded stacks into a flame graph (SVG or interactive HTML)', load: () => import('../tools/flamegraph.js') },
	memleak: { summary: 'Trace outstanding memory allocations by stack (user space or kernel)', load: () => import('../tools/memleak.js') },
	sslsniff: { summary: 'Trace the plaintext of TLS reads and writes (OpenSSL, GnuTLS, NSS), secrets redacted', load: () => import('../tools/sslsniff.js') },
	mysqlslow: { summary: 'Trace MySQL / MariaDB queries slower than a threshold', load: () => import('../tools/mysqlslow.js') },
	httptrace: { summary: 'Trace HTTP requests with status and latency, client and server side (no code changes)', load: () => import('../tools/httptrace.js') },
	biolatency: { summary: 'Summarize block device I/O latency as a histogram', load: () => import('../tools/biolatency.js') },
};
