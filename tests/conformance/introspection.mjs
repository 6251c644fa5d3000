// What GraphQL tools do first: send graphql-js's getIntrospectionQuery() and build the client
// schema from the answer (graphql-codegen, graphql-inspector and GraphiQL all do this).
// Usage: node introspection.mjs <url> [bearer token]
// Prints one JSON line: {"status":N,"types":N,"account":bool,"errors":[...]}.
import { buildClientSchema, getIntrospectionQuery } from 'graphql';

const [url, token] = process.argv.slice(2);
const headers = { 'content-type': 'application/json', accept: 'application/graphql-response+json' };
if (token) headers.authorization = `Bearer ${token}`;
const query = getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, inputValueDeprecation: true });
const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query }) });
const body = await res.json();
const out = { status: res.status, types: 0, account: false, errors: body.errors ?? [] };
if (body.data) {
  const schema = buildClientSchema(body.data);
  out.types = Object.keys(schema.getTypeMap()).length;
  out.account = Boolean(schema.getType('Account'));
}
console.log(JSON.stringify(out));
