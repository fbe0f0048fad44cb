#!/usr/bin/env node
// Lints Cypher statements with Neo4j's own parser and semantic analysis (@neo4j-cypher/language-support),
// offline: no database connection.
//
// stdin:  a JSON array of {"name": string, "text": string}
// stdout: one line per diagnostic, "<name>:<line>:<col>: <severity>: <message>" (1-based line and column
//         within the statement text), the offending line with a caret under it, then a summary line
//         "N statements, E errors, W warnings".
// exit:   0 when no diagnostic has error severity, 1 when one does, 2 on bad input.
//
// The DbSchema handed to lintCypherQuery:
// - parameters: every $parameter the statement uses, declared (the linter otherwise reports each one as
//   "Parameter $x is not defined"; values are bound at run time, so only the names matter here);
// - functions: Neo4j's built-in function registry as shipped with the package (its mockSchema, filtered to
//   isBuiltIn, so APOC is not assumed), which turns a misspelt function into an error and a deprecated one
//   into a warning;
// - no procedures, labels or relationship types: the graph vocabulary grows with the code, and FalkorDB's
//   procedures are not Neo4j's, so those are not checked.
// - defaultLanguage 'CYPHER 5': production runs neo4j:5.
//
// The package's ESM build uses extension-less relative imports that Node's ESM loader rejects, so the
// CommonJS build is loaded through createRequire.

import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

const require = createRequire(import.meta.url);
const { lintCypherQuery, parseParameters, testData } = require('@neo4j-cypher/language-support');

const CYPHER_VERSION = 'CYPHER 5';
const SEVERITY = { 1: 'error', 2: 'warning', 3: 'info', 4: 'hint' };

function builtInFunctions() {
  const byVersion = {};
  for (const [version, registry] of Object.entries(testData.mockSchema.functions ?? {})) {
    byVersion[version] = Object.fromEntries(
      Object.entries(registry).filter(([, fn]) => fn.isBuiltIn === true),
    );
  }
  return byVersion;
}

const FUNCTIONS = builtInFunctions();

/** Lint one statement; returns the package's SyntaxDiagnostic[] (LSP Diagnostic + offsets). */
export function lintStatement(text) {
  const parameters = {};
  for (const name of parseParameters(text, false)) {
    parameters[name.replace(/^`|`$/g, '')] = null;
  }
  const dbSchema = { defaultLanguage: CYPHER_VERSION, parameters, functions: FUNCTIONS };
  return lintCypherQuery(text, dbSchema, false);
}

function formatDiagnostic(name, text, d) {
  const line = d.range.start.line;
  const col = d.range.start.character;
  const severity = SEVERITY[d.severity] ?? `severity-${d.severity}`;
  const source = text.split('\n')[line] ?? '';
  const width = Math.max(
    1,
    (d.range.end.line === line ? d.range.end.character : source.length) - col,
  );
  return [
    `${name}:${line + 1}:${col + 1}: ${severity}: ${d.message.trim()}`,
    `    ${source}`,
    `    ${' '.repeat(col)}${'^'.repeat(width)}`,
  ].join('\n');
}

function main() {
  let statements;
  try {
    statements = JSON.parse(readFileSync(0, 'utf8'));
    if (!Array.isArray(statements)) throw new Error('expected a JSON array');
    for (const s of statements) {
      if (typeof s?.name !== 'string' || typeof s?.text !== 'string') {
        throw new Error(`each item needs string "name" and "text": ${JSON.stringify(s)}`);
      }
    }
  } catch (err) {
    console.error(`cypher-lint: bad input on stdin: ${err.message}`);
    return 2;
  }

  let errors = 0;
  let warnings = 0;
  for (const { name, text } of statements) {
    for (const d of lintStatement(text)) {
      if (d.severity === 1) errors += 1;
      else warnings += 1;
      console.log(formatDiagnostic(name, text, d));
    }
  }
  const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
  console.log(
    `${plural(statements.length, 'statement')}, ${plural(errors, 'error')}, ${plural(warnings, 'warning')}`,
  );
  return errors > 0 ? 1 : 0;
}

process.exitCode = main();
