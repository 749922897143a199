// One error type that reaches people as one line: a stable code, a message,
// and a hint. Exit codes: 0 success, 1 runtime error, 2 usage.

export type ErrorCode =
	| 'USAGE'
	| 'NOT_ROOT'
	| 'NO_BTF'
	| 'NO_TRACEFS'
	| 'PROBE_NOT_FOUND'
	| 'UNSUPPORTED'
	| 'VERIFIER'
	| 'STALE_OBJECT'
	| 'ADDON'
	| 'RUNTIME';

export class ToolError extends Error {
	readonly exitCode: number;
	constructor(
		readonly code: ErrorCode,
		message: string,
		readonly hint?: string,
		readonly detail?: string,
		options?: { cause?: unknown },
	) {
		super(message, options);
		this.exitCode = code === 'USAGE' ? 2 : 1;
	}
}

export function usage(message: string, hint?: string): ToolError {
	return new ToolError('USAGE', message, hint ?? 'see --help');
}

/** An error thrown by the addon: {operation, errno, code}. */
export interface NativeError extends Error {
	operation?: string;
	errno?: number;
	code?: string;
}

export function isNativeError(e: unknown): e is NativeError {
	return e instanceof Error && typeof (e as NativeError).errno === 'number';
}

const PERMISSION_HINT = 'run as root (sudo), or grant CAP_BPF and CAP_PERFMON (plus CAP_SYS_ADMIN on kernels before 5.8)';

/** Last meaningful lines of a verifier log, for the one-line message. */
export function verifierSummary(log: string): string {
	const lines = log
		.split('\n')
		.map((l) => l.trim())
		.filter((l) => l && !l.startsWith('-- ') && !/^libbpf: prog '.*': -- (BEGIN|END) PROG LOAD LOG --/.test(l));
	const inLog = lines.filter((l) => !l.startsWith('libbpf:'));
	const pick = (inLog.length ? inLog : lines).slice(-2);
	return pick.join(' / ');
}

/**
 * Turn an addon error raised while loading/attaching into a ToolError.
 * `log` is what libbpf printed meanwhile (verifier log included).
 */
export function mapNativeError(e: unknown, what: string, log = ''): ToolError {
	if (e instanceof ToolError) return e;
	if (!isNativeError(e)) {
		return new ToolError('RUNTIME', `${what}: ${e instanceof Error ? e.message : String(e)}`, undefined, log, {
			cause: e,
		});
	}
	const code = e.code ?? '';
	if (code === 'EPERM' || code === 'EACCES') {
		if (/BEGIN PROG LOAD LOG/.test(log) && /\d+: \(/.test(log)) {
			return new ToolError('VERIFIER', `${what}: the verifier rejected a program: ${verifierSummary(log)}`,
				'run with -v for the full verifier log', log, { cause: e });
		}
		return new ToolError('NOT_ROOT', `${what}: permission denied (${e.operation})`, PERMISSION_HINT, log, { cause: e });
	}
	if (e.operation === 'bpf_object__load' && /BEGIN PROG LOAD LOG/.test(log)) {
		return new ToolError('VERIFIER', `${what}: the verifier rejected a program: ${verifierSummary(log)}`,
			'run with -v for the full verifier log', log, { cause: e });
	}
	if (code === 'ENOENT' && /attach|tracepoint|uprobe|usdt/.test(e.operation ?? '')) {
		return new ToolError('PROBE_NOT_FOUND', `${what}: probe not found (${e.operation})`,
			'the kernel or binary does not have this hook', log, { cause: e });
	}
	if (code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'EINVAL' && /attach/.test(e.operation ?? '')) {
		return new ToolError('UNSUPPORTED', `${what}: not supported by this kernel (${e.operation}: ${e.message})`,
			undefined, log, { cause: e });
	}
	return new ToolError('RUNTIME', `${what}: ${e.message}`, undefined, log, { cause: e });
}

/** The one line printed for an error (plus the hint line's content). */
export function formatError(tool: string, e: ToolError): string {
	// messages about the tool's own object start with its name already
	const msg = e.message.startsWith(`${tool}: `) ? e.message.slice(tool.length + 2) : e.message;
	return `${tool}: ${msg}${e.hint ? ` (hint: ${e.hint})` : ''}`;
}
