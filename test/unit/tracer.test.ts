// The shared run loop without privileges: how it stops.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { Output } from '../../lib/output.js';
import { Clock, Tracer } from '../../lib/tracer.js';

test('a SIGINT or SIGTERM before run() (programs still loading) ends the run cleanly, not the process', async () => {
	for (const sig of ['SIGINT', 'SIGTERM'] as const) {
		const before = process.listenerCount(sig);
		const out = new Output({ json: false, stdout: new PassThrough(), stderr: new PassThrough() });
		const t = new Tracer('test', { verbose: 0, json: false, perfBuffer: false }, out);
		t.clock = new Clock();
		// without the Tracer's own listener, stop() is never called and run() never returns
		const seen = once(process, sig);
		const keepAlive = setTimeout(() => {}, 5000); // signal handles do not hold the loop open
		process.kill(process.pid, sig);
		await seen;
		clearTimeout(keepAlive);
		assert.equal(await t.run(), 'signal');
		t.close();
		assert.equal(process.listenerCount(sig), before, `${sig} listener left behind`);
	}
});
