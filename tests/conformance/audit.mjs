// Runs the graphql-http server audit (GraphQL-over-HTTP conformance) against a running server.
// Usage: node audit.mjs <url> <bearer token>
// Prints one JSON line: {"ok":N,"warn":N,"error":N,"problems":[...]} and exits 0; the calling
// test decides what is acceptable.
import { auditServer } from 'graphql-http';

const [url, token] = process.argv.slice(2);
if (!url || !token) {
  console.error('usage: node audit.mjs <url> <token>');
  process.exit(2);
}

// Every audit request carries the token, as a real client's would.
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers || {});
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};

const results = await auditServer({ url, fetchFn });
const counts = { ok: 0, warn: 0, error: 0 };
const problems = [];
for (const r of results) {
  counts[r.status] += 1;
  if (r.status !== 'ok') problems.push({ id: r.id, name: r.name, status: r.status, reason: r.reason });
}
console.log(JSON.stringify({ ...counts, problems }));
