#!/usr/bin/env node
'use strict';
// Send a request that bedrock_sign_request() signed: read its JSON result
// ({"url", "body", "signed": <bedrock_sign_request result>}) on stdin, send
// it with Node's own HTTP client and print the status and the answer.  It
// shows that a signature made in SQL is accepted by the emulator, which
// verifies it with the AWS SDK's own signer.
const http = require('http');

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (c) => { input += c; });
process.stdin.on('end', () => {
  const req = JSON.parse(input);
  const body = Buffer.from(req.body, 'utf8');
  const headers = { 'content-type': 'application/json', ...req.signed.headers };
  headers['content-length'] = body.length;
  const r = http.request(req.url, { method: 'POST', headers, timeout: 10000 }, (res) => {
    let data = '';
    res.setEncoding('utf8');
    res.on('data', (c) => { data += c; });
    res.on('end', () => {
      console.log(`HTTP ${res.statusCode}, x-amzn-RequestId ${res.headers['x-amzn-requestid']}`);
      try {
        const j = JSON.parse(data);
        const text = j.output && j.output.message && j.output.message.content
          .filter((b) => typeof b.text === 'string').map((b) => b.text).join('');
        console.log(text !== undefined ? `answer: ${text}` : data);
      } catch {
        console.log(data);
      }
      process.exit(res.statusCode === 200 ? 0 : 1);
    });
  });
  r.on('timeout', () => r.destroy(new Error('timeout')));
  r.on('error', (e) => { console.error(`send-signed: ${e.message}`); process.exit(1); });
  r.end(body);
});
