// Parses an AsyncAPI document with the official parser (@asyncapi/parser,
// pinned in package.json) and prints its diagnostics as JSON, one object:
// {"valid": bool, "diagnostics": [{"severity", "code", "message", "path"}]}.
// Severity as the parser gives it: 0 error, 1 warning, 2 information, 3 hint.
// Exit status 0 whether or not the document is valid; the Go test judges.
import { Parser, fromFile } from '@asyncapi/parser';

const file = process.argv[2];
if (!file) {
  console.error('usage: node parse.mjs ASYNCAPI.yaml');
  process.exit(2);
}
const parser = new Parser();
const { document, diagnostics } = await fromFile(parser, file).parse();
console.log(JSON.stringify({
  valid: document !== undefined,
  diagnostics: diagnostics.map((d) => ({
    severity: d.severity,
    code: String(d.code),
    message: d.message,
    path: d.path.join('/'),
  })),
}));
