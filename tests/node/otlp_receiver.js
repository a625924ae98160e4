// SPDX-License-Identifier: GPL-2.0
//
// A real OTLP/HTTP trace receiver for the end-to-end tests, with the same
// strict decoder as the unit tests (otlp_schema.js). It records every span
// it accepts, one JSON line each, and answers as a script tells it to, to
// play a backend that fails, throttles, refuses or stalls.
//
//   node otlp_receiver.js --port-file F --spans F [--requests F]
//        [--script ITEM,ITEM...] [--port N] [--tls-key F --tls-cert F]
//
// A script ITEM answers one request: CODE[xN][:ra=S][:radate=S][:stall=MS]
// [:late=MS][:partial=N]. CODE 200 accepts; 429/5xx answer without
// accepting; 400 refuses; ra= adds Retry-After in seconds, radate= as an
// HTTP-date S seconds ahead; stall= waits before accepting and answering;
// late= accepts at once and answers after MS (a slow acknowledgement;
// ignored with stall=);
// partial= reports N spans rejected in a partial success. After the
// script, every request gets 200.
// SIGUSR2 stops answering requests (a backend that is down: connections
// are refused); SIGHUP starts again.
'use strict';

const fs = require('fs');
const http = require('http');
const https = require('https');
const zlib = require('zlib');
const otlp = require('./otlp_schema');

const args = {};
for (let i = 2; i < process.argv.length; i += 2)
	args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];

const script = [];
for (const item of (args.script || '').split(',').filter(Boolean)) {
	const [head, ...opts] = item.split(':');
	const [code, times] = head.split('x');
	const step = { code: Number(code) };
	for (const o of opts) {
		const [k, v] = o.split('=');
		step[k] = Number(v);
	}
	for (let n = 0; n < Number(times || 1); n++)
		script.push(step);
}

function hex(b) {
	return b && b.length ? Buffer.from(b).toString('hex') : '';
}

function value(v) {
	if (v.stringValue !== undefined) return v.stringValue;
	if (v.intValue !== undefined) return Number(v.intValue);
	if (v.doubleValue !== undefined) return v.doubleValue;
	if (v.boolValue !== undefined) return v.boolValue;
	return 'bytes:' + hex(v.bytesValue);
}

function attrs(list) {
	const o = {};
	for (const kv of list || [])
		o[kv.key] = value(kv.value);
	return o;
}

function record(req, reqInfo) {
	const lines = [];
	for (const rs of req.resourceSpans || []) {
		const res = attrs(rs.resource && rs.resource.attributes);
		for (const ss of rs.scopeSpans || []) {
			for (const s of ss.spans || []) {
				lines.push(JSON.stringify({
					trace: hex(s.traceId), span: hex(s.spanId), parent: hex(s.parentSpanId),
					name: s.name, kind: s.kind || 0, start: String(s.startTimeUnixNano),
					end: String(s.endTimeUnixNano), status: (s.status && s.status.code) || 0,
					attrs: attrs(s.attributes), resource: res,
					scope: ss.scope && ss.scope.name, request: reqInfo.n,
				}));
			}
		}
	}
	return lines;
}

let served = 0;
let down = false;

function logRequest(info) {
	if (args.requests)
		fs.appendFileSync(args.requests, JSON.stringify(info) + '\n');
}

const handler = (req, res) => {
	const chunks = [];
	req.on('data', (c) => chunks.push(c));
	req.on('end', () => {
		const n = ++served;
		const step = script[n - 1] || { code: 200 };
		const info = {
			n, code: step.code, type: req.headers['content-type'],
			encoding: req.headers['content-encoding'] || 'identity',
			agent: req.headers['user-agent'], path: req.url, method: req.method,
			headers: req.headers,
		};
		let body = Buffer.concat(chunks);
		let decoded;
		try {
			if (info.encoding === 'gzip')
				body = zlib.gunzipSync(body);
			else if (info.encoding !== 'identity')
				throw new Error('unknown Content-Encoding ' + info.encoding);
			if (info.type === 'application/x-protobuf')
				decoded = otlp.decodeProtobuf(body);
			else if (info.type === 'application/json')
				decoded = otlp.decodeJson(body.toString('utf8'));
			else
				throw new Error('unexpected Content-Type ' + info.type);
		} catch (e) {
			info.error = e.message;
			info.code = 400;
			logRequest(info);
			res.writeHead(400, { 'Content-Type': 'text/plain' });
			res.end('undecodable request: ' + e.message);
			return;
		}
		const lines = record(decoded, info);
		info.spans = lines.length;
		const ok = step.code >= 200 && step.code < 300;
		const accept = () => {
			logRequest(info);
			const keep = lines.slice(0, lines.length - (step.partial || 0));
			if (ok && keep.length)
				fs.appendFileSync(args.spans, keep.join('\n') + '\n');
		};
		const answer = () => {
			if (ok) {
				const json = info.type === 'application/json';
				const partial = step.partial ? [step.partial, 'test rejected ' + step.partial] : [0, ''];
				res.writeHead(200, { 'Content-Type': info.type });
				res.end(json ? JSON.stringify(step.partial ? { partialSuccess: { rejectedSpans: String(partial[0]), errorMessage: partial[1] } } : {})
					: otlp.encodeResponse(partial[0], partial[1]));
				return;
			}
			const headers = { 'Content-Type': 'text/plain' };
			if (step.ra !== undefined)
				headers['Retry-After'] = String(step.ra);
			if (step.radate !== undefined)
				headers['Retry-After'] = new Date(Date.now() + step.radate * 1000).toUTCString();
			res.writeHead(step.code, headers);
			res.end('test backend says ' + step.code);
		};
		if (step.stall) {
			setTimeout(() => { accept(); answer(); }, step.stall);
		} else {
			accept();
			if (step.late)
				setTimeout(answer, step.late);
			else
				answer();
		}
	});
};

const server = args['tls-key'] ?
	https.createServer({ key: fs.readFileSync(args['tls-key']), cert: fs.readFileSync(args['tls-cert']) }, handler) :
	http.createServer(handler);
server.keepAliveTimeout = 60000;
server.listen(Number(args.port || 0), '127.0.0.1', () => {
	if (args['port-file'])
		fs.writeFileSync(args['port-file'], String(server.address().port));
});

// While down, nothing else keeps the process alive.
setInterval(() => {}, 1 << 30);

process.on('SIGUSR2', () => {
	if (down)
		return;
	down = true;
	server.close();
	server.closeAllConnections();
});
process.on('SIGHUP', () => {
	if (!down)
		return;
	down = false;
	server.listen(Number(fs.readFileSync(args['port-file'], 'utf8')), '127.0.0.1');
});
process.on('SIGTERM', () => process.exit(0));
