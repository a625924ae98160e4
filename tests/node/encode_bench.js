// SPDX-License-Identifier: GPL-2.0
//
// The OpenTelemetry JavaScript exporter's own encoding of the spans
// tests/bench/encode_bench.c encodes: the same 512 spans, as ReadableSpans,
// through the official packages' ProtobufTraceSerializer and
// JsonTraceSerializer (the code the JS OTLP/HTTP exporter runs per export).
//
//   node encode_bench.js [SECONDS]      prints "format spans/s bytes/request"
'use strict';

const { ProtobufTraceSerializer, JsonTraceSerializer } = require('@opentelemetry/otlp-transformer');
const { resourceFromAttributes } = require('@opentelemetry/resources');

const SPANS = 512;
const secs = Number(process.argv[2] || 2);

function hex(start, n) {
	let s = '';
	for (let k = 0; k < n; k++)
		s += ((start + k) & 0xff).toString(16).padStart(2, '0');
	return s;
}

function hrtime(ns) {
	return [Number(ns / 1000000000n), Number(ns % 1000000000n)];
}

const scope = { name: 'kspan', version: '0.1.0' };
const resources = [0, 1, 2, 3].map((p) => resourceFromAttributes({
	'service.name': 'bench', 'process.pid': 1000 + p, 'host.name': 'bench-host',
}));

const spans = [];
for (let i = 0; i < SPANS; i++) {
	const start = 1700000000000000000n + BigInt(i) * 1000n;
	const traceId = hex(Math.floor(i / 8) + 1, 16);
	spans.push({
		name: 'GET /api/items/' + (i % 16),
		kind: 1, // SpanKind.SERVER in the JS API
		spanContext: () => ({ traceId, spanId: hex(i + 1, 8), traceFlags: 1 }),
		parentSpanContext: i % 8 ? { traceId, spanId: hex(i - (i % 8) + 1, 8), traceFlags: 1 } : undefined,
		startTime: hrtime(start),
		endTime: hrtime(start + 250000n),
		status: { code: 1 },
		attributes: {
			'http.request.method': 'GET', 'http.route': '/api/items/{id}',
			'http.response.status_code': 200, 'server.duration_ratio': 0.25,
			'cache.hit': i % 2 === 1, 'thread.id': 2000 + (i % 4),
			'process.real_user.id': 1000, 'cpu.logical_number': i % 2,
		},
		links: [], events: [], duration: [0, 250000], ended: true,
		resource: resources[i % 4],
		instrumentationScope: scope, instrumentationLibrary: scope,
		droppedAttributesCount: 0, droppedEventsCount: 0, droppedLinksCount: 0,
	});
}

function run(label, ser) {
	let reps = 0, bytes = 0;
	const t0 = process.hrtime.bigint();
	let t;
	do {
		for (let k = 0; k < 8; k++) {
			bytes = ser.serializeRequest(spans).length;
			reps++;
		}
		t = Number(process.hrtime.bigint() - t0) / 1e9;
	} while (t < secs);
	console.log(label.padEnd(14) + ' ' + String(Math.round(reps * SPANS / t)).padStart(12) +
		' spans/s ' + String(bytes).padStart(8) + ' bytes/request');
}

run('protobuf', ProtobufTraceSerializer);
run('json', JsonTraceSerializer);
