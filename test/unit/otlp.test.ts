// --otlp without a collector: how records become OTel attributes and times,
// and how URLs and headers are checked (usage errors, exit code 2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hrTime, logsUrl, parseHeaders, toAttributes, tracesUrl } from '../../lib/otlp.js';
import { ToolError } from '../../lib/errors.js';

test('records become attributes: primitives kept, nested objects dotted, object arrays as JSON, nulls left out', () => {
	assert.deepEqual(
		toAttributes({
			pid: 42, comm: 'dd', ok: true, args: ['/bin/true', 'x'], uid: null, seq: undefined,
			key: { disk: 'vda', dev: '254:0' }, buckets: [{ low: 0, high: 1, count: 3 }], big: 5n,
		}),
		{ pid: 42, comm: 'dd', ok: true, args: ['/bin/true', 'x'], 'key.disk': 'vda', 'key.dev': '254:0', buckets: '[{"low":0,"high":1,"count":3}]', big: 5 },
	);
});

test('Unix seconds as HrTime, nanoseconds never overflowing', () => {
	assert.deepEqual(hrTime(1700000000.25), [1700000000, 250000000]);
	assert.deepEqual(hrTime(12), [12, 0]);
	assert.deepEqual(hrTime(1.9999999999), [1, 999999999]);
});

test('--otlp URLs: base URLs get /v1/logs, full ones are kept, others are usage errors', () => {
	assert.equal(logsUrl('http://127.0.0.1:4318'), 'http://127.0.0.1:4318/v1/logs');
	assert.equal(logsUrl('http://collector:4318/'), 'http://collector:4318/v1/logs');
	assert.equal(logsUrl('https://otel.example/prefix'), 'https://otel.example/prefix/v1/logs');
	assert.equal(logsUrl('http://c:4318/v1/logs'), 'http://c:4318/v1/logs');
	for (const bad of ['1', 'grpc://c:4317', 'ftp://x']) {
		assert.throws(() => logsUrl(bad), (e: unknown) => e instanceof ToolError && e.exitCode === 2 && /--otlp/.test(e.message), bad);
	}
});

test('--otlp-header KEY=VALUE; the value may hold = and spaces', () => {
	assert.deepEqual(parseHeaders(['authorization=Bearer a=b', ' x-y = 1 ']), { authorization: 'Bearer a=b', 'x-y': '1' });
	assert.throws(() => parseHeaders(['novalue']), (e: unknown) => e instanceof ToolError && e.exitCode === 2);
	assert.throws(() => parseHeaders(['=v']), (e: unknown) => e instanceof ToolError && e.exitCode === 2);
});

test('spans go beside the logs: .../v1/logs becomes .../v1/traces', () => {
	assert.equal(tracesUrl('http://c:4318/v1/logs'), 'http://c:4318/v1/traces');
	assert.equal(tracesUrl(logsUrl('https://c/otlp')), 'https://c/otlp/v1/traces');
});
