// SPDX-License-Identifier: GPL-2.0
//
// An independent OTLP decoder for the tests: the official OpenTelemetry
// JavaScript packages' generated schema (installed by scripts/setup, never
// copied here) decodes what spanagent encoded, strictly, and prints one
// canonical line per resource and per span for the C tests to compare.
//
//   node otlp_decode.js pb|json FILE     (gzip is recognised by its magic)
'use strict';

const fs = require('fs');
const zlib = require('zlib');
const otlp = require('./otlp_schema');

function canonValue(v) {
	if (v.stringValue !== undefined) return JSON.stringify(v.stringValue);
	if (v.intValue !== undefined) return 'i:' + String(v.intValue);
	if (v.doubleValue !== undefined) return 'd:' + String(v.doubleValue);
	if (v.boolValue !== undefined) return 'b:' + String(v.boolValue);
	if (v.bytesValue !== undefined) return 'x:' + Buffer.from(v.bytesValue).toString('hex');
	throw new Error('attribute without a value: ' + JSON.stringify(v));
}

function canonAttrs(attrs) {
	return (attrs || []).map((kv) => JSON.stringify(kv.key) + '=' + canonValue(kv.value)).join(',');
}

function hex(b) {
	return b && b.length ? Buffer.from(b).toString('hex') : '-';
}

function canon(req) {
	const out = [];
	for (const rs of req.resourceSpans || []) {
		out.push('R ' + canonAttrs(rs.resource && rs.resource.attributes));
		for (const ss of rs.scopeSpans || []) {
			const sc = ss.scope || {};
			for (const s of ss.spans || []) {
				out.push(['S', 'scope=' + sc.name + '/' + sc.version,
					'trace=' + hex(s.traceId), 'span=' + hex(s.spanId),
					'parent=' + hex(s.parentSpanId), 'name=' + JSON.stringify(s.name),
					'kind=' + (s.kind || 0), 'start=' + String(s.startTimeUnixNano || 0),
					'end=' + String(s.endTimeUnixNano || 0),
					'status=' + ((s.status && s.status.code) || 0),
					'flags=' + (s.flags || 0), 'attrs=' + canonAttrs(s.attributes)].join(' '));
			}
		}
	}
	return out.join('\n') + '\n';
}

function main() {
	const [fmt, file] = process.argv.slice(2);
	let body = fs.readFileSync(file);
	if (body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b)
		body = zlib.gunzipSync(body);
	const req = fmt === 'pb' ? otlp.decodeProtobuf(body) : otlp.decodeJson(body.toString('utf8'));
	process.stdout.write(canon(req));
}

try {
	main();
} catch (e) {
	process.stderr.write('otlp_decode: ' + e.message + '\n');
	process.exit(1);
}
