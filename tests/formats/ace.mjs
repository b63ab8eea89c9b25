// Ace by DAISY (the EPUB accessibility checker) over many EPUBs in one Node process.
//
// Run by tests/formats/ace.py as `node tests/formats/ace.mjs RESULTS BOOK.epub...`, with
// PUPPETEER_EXECUTABLE_PATH naming the system Chromium and CHROMIUM_ARGS (a JSON list) the
// flags the tests start it with. `ace-cli` checks one book per process and starts Chromium for
// it; here Ace's own core checks each book in turn, and one Chromium, started once, serves them
// all. For each book it appends one JSON line to RESULTS:
//   {"book": PATH, "outcome": "pass"|"fail", "failures": [{document, rule, impact, title}]}
// and a book Ace could not check gets {"book": PATH, "error": MESSAGE}. (Ace's core prints each
// whole report to stdout, so the results go to a file of their own.)
import fs from 'node:fs';
import { createRequire } from 'node:module';

import ace from '@daisy/ace-core';
import runner from '@daisy/ace-axe-runner-puppeteer';

const [results, ...books] = process.argv.slice(2);
const require = createRequire(import.meta.url);
const fromAce = createRequire(require.resolve('@daisy/ace-core'));
const fromRunner = createRequire(require.resolve('@daisy/ace-axe-runner-puppeteer'));

// Ace logs through winston's default logger, which has no transport unless the CLI adds one
// (a file under the user's home): a silent one keeps it from warning on stderr for each line.
const winston = fromAce('winston');
winston.add(new winston.transports.Console({ silent: true }));

// The runner starts puppeteer's browser with its own flags (--no-sandbox): the tests' own go
// with them, as Chromium runs everywhere else in the suite.
const puppeteer = fromRunner('puppeteer');
const launch = puppeteer.launch;
const extraArgs = JSON.parse(process.env.CHROMIUM_ARGS ?? '[]');
puppeteer.launch = (options) => launch({ ...options, args: [...(options?.args ?? []), ...extraArgs] });

// The runner starts a browser for each book and closes it after: started once here, and
// closed at the end. Its `run` opens a tab of that one browser for each content document.
let browser;
const sharedRunner = {
  concurrency: runner.concurrency,
  setTimeout: (ms) => runner.setTimeout(ms),
  launch: () => (browser ??= runner.launch()),
  close: async () => {},
  run: (...args) => runner.run(...args),
};

// Every assertion Ace made that failed, with the content document it is about.
function failures(report) {
  const found = [];
  for (const subject of report.assertions ?? []) {
    for (const assertion of subject.assertions ?? []) {
      if (assertion['earl:result']?.['earl:outcome'] === 'fail') {
        found.push({
          document: subject['earl:testSubject']?.url ?? '',
          rule: assertion['earl:test']?.['dct:title'] ?? '',
          impact: assertion['earl:test']?.['earl:impact'] ?? '',
          title: assertion['earl:result']?.['dct:description'] ?? '',
        });
      }
    }
  }
  return found;
}

function write(line) {
  fs.appendFileSync(results, `${JSON.stringify(line)}\n`);
}

async function check(book) {
  const start = performance.now();
  try {
    const [, report] = await ace(book, { cwd: process.cwd(), silent: true }, sharedRunner);
    const outcome = report['earl:result']['earl:outcome'];
    const seconds = (performance.now() - start) / 1000;
    write({ book, outcome, failures: failures(report), seconds });
  } catch (error) {
    write({ book, error: String(error?.message ?? error) });
  }
}

write({ ace: fromAce('@daisy/ace-meta/package').version });
for (const book of books) {
  await check(book);
}
if (browser) {
  await browser;
  await runner.close();
}
