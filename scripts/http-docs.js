// Writes docs/reference/http.md from the HTTP API's OpenAPI document (run after a build:
// `npm run docs:http`). test/http/reference-doc.test.ts fails when the file is out of date.
import { writeFileSync } from 'node:fs';
import { httpReference } from '../dist/test/helpers/http-reference.js';

writeFileSync('docs/reference/http.md', await httpReference());
console.log('wrote docs/reference/http.md');
