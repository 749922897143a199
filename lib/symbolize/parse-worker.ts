// The symbolizer's parser thread: big binaries (a 100 MB node has a 300k-entry
// .symtab) parse here, so the main thread keeps reading the mappings of new
// processes while they are alive. Files arrive as /proc/self/fd/N paths the
// main thread holds open.
import { parentPort } from 'node:worker_threads';
import { loadSymbols } from './load.js';

export interface ParseJob {
	id: number;
	path: string;
	display: string;
	root: string;
	debugRoots: string[];
	/** build-ids the main thread has already */
	known: string[];
}

parentPort?.on('message', (job: ParseJob) => {
	const known = new Set(job.known);
	let res = null;
	try {
		res = loadSymbols(job.path, job.display, job.root, job.debugRoots, (id) => known.has(id));
	} catch {
		res = null;
	}
	if (res) parentPort!.postMessage({ id: job.id, res }, [res.table.addrs.buffer as ArrayBuffer, res.table.ends.buffer as ArrayBuffer]);
	else parentPort!.postMessage({ id: job.id, res: null });
});
