// SPDX-License-Identifier: GPL-2.0
//
// Strict OTLP trace request decoding with the OpenTelemetry JavaScript
// packages' generated schema, shared by the test decoder and receiver.
'use strict';

const root = require('@opentelemetry/otlp-transformer/build/src/generated/root.js');
const pb = root.opentelemetry.proto.collector.trace.v1;
const Req = pb.ExportTraceServiceRequest;
const Resp = pb.ExportTraceServiceResponse;

const OBJ = { longs: String, enums: Number, bytes: Array, defaults: false, arrays: false };

// Protobuf: the schema's decoder, then a check that re-encoding the
// decoded message gives the same bytes (nothing unknown, nothing lost;
// spanagent writes fields in schema order, as the schema's encoder does).
function decodeProtobuf(buf) {
	const msg = Req.decode(buf);
	const err = Req.verify(msg);
	if (err)
		throw new Error('invalid request: ' + err);
	const again = Buffer.from(Req.encode(msg).finish());
	if (!again.equals(Buffer.from(buf)))
		throw new Error('request does not re-encode to the same bytes (unknown or misplaced fields)');
	const obj = Req.toObject(msg, OBJ);
	return obj;
}

const HEX_FIELDS = new Set(['traceId', 'spanId', 'parentSpanId']);

// OTLP/JSON: ids are hex, not base64. Every key must be a schema field in
// lowerCamelCase: the object is read into the schema and written back, and
// must come out the same.
function decodeJson(text) {
	const raw = JSON.parse(text);
	const hexToB64 = function (k, v) {
		if (HEX_FIELDS.has(k)) {
			if (typeof v !== 'string' || !/^([0-9a-f]{2})*$/.test(v))
				throw new Error(k + ' is not lowercase hex: ' + JSON.stringify(v));
			return Buffer.from(v, 'hex').toString('base64');
		}
		return v;
	};
	const norm = JSON.parse(text, hexToB64);
	// The proto3 JSON mapping spells non-finite doubles as strings, which
	// the schema's fromObject does not read: give it numbers.
	const fixed = JSON.parse(text, function (k, v) {
		if (k === 'doubleValue' && typeof v === 'string') {
			if (!['NaN', 'Infinity', '-Infinity'].includes(v))
				throw new Error('doubleValue string ' + JSON.stringify(v));
			return Number(v);
		}
		return hexToB64(k, v);
	});
	const msg = Req.fromObject(fixed);
	const err = Req.verify(msg);
	if (err)
		throw new Error('invalid request: ' + err);
	const back = Req.toObject(msg, { longs: String, enums: Number, bytes: String, defaults: false, json: true });
	const diff = firstDifference(norm, JSON.parse(JSON.stringify(back)), '');
	if (diff)
		throw new Error('not OTLP/JSON: ' + diff);
	checkJsonTypes(raw);
	return Req.toObject(msg, OBJ);
}

// 64-bit integers must be strings, enums numbers.
function checkJsonTypes(v, key) {
	if (Array.isArray(v)) {
		v.forEach((x) => checkJsonTypes(x, key));
	} else if (v && typeof v === 'object') {
		for (const [k, x] of Object.entries(v))
			checkJsonTypes(x, k);
	} else if (/UnixNano$|^intValue$/.test(key || '') && typeof v !== 'string') {
		throw new Error(key + ' must be a decimal string');
	} else if ((key === 'kind' || key === 'code') && typeof v !== 'number') {
		throw new Error(key + ' must be an integer');
	}
}

function firstDifference(a, b, path) {
	if (typeof a !== typeof b)
		return path + ': ' + JSON.stringify(a) + ' vs ' + JSON.stringify(b);
	if (a && typeof a === 'object') {
		const keys = new Set([...Object.keys(a), ...Object.keys(b || {})]);
		for (const k of keys) {
			if (!(k in a) || !(k in b)) {
				// A default written out explicitly is allowed; an unknown key is not.
				if (k in a && isDefault(a[k]))
					continue;
				return path + '.' + k + ' unknown or dropped';
			}
			const d = firstDifference(a[k], b[k], path + '.' + k);
			if (d)
				return d;
		}
		return null;
	}
	if (a !== b && !(typeof a === 'number' && Number.isNaN(a) && Number.isNaN(b)))
		return path + ': ' + JSON.stringify(a) + ' vs ' + JSON.stringify(b);
	return null;
}

function isDefault(v) {
	return v === 0 || v === '0' || v === '' || v === false || (Array.isArray(v) && !v.length);
}

function encodeResponse(rejected, message) {
	const r = rejected || message ? { partialSuccess: { rejectedSpans: rejected || 0, errorMessage: message || '' } } : {};
	return Buffer.from(Resp.encode(Resp.fromObject(r)).finish());
}

module.exports = { decodeProtobuf, decodeJson, encodeResponse, Req, Resp };
