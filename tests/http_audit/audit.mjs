// graphql-http's server audit against the URL given as the only argument: one JSON
// array on stdout, each result's id, name and status, and the reason of any that failed.
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs http://host:port/graphql');
  process.exit(2);
}
const results = await auditServer({ url });
const report = results.map(({ id, name, status, reason }) => ({ id, name, status, reason }));
console.log(JSON.stringify(report));
