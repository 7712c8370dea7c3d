// `npm ci && npm run build` here writes ../../static/vendor/plotly.min.js (docs/performance.md, "Light pages").
// The options are plotly.js's own (its esbuild-config.js), minus the plugins only WebGL and map traces need.
'use strict';
const fs = require('fs');
const path = require('path');
const esbuild = require('esbuild');

const TRACES = ['scatter', 'bar', 'heatmap', 'scatterpolar'];
const version = require('plotly.js/package.json').version;
const outfile = path.join(__dirname, '..', '..', 'static', 'vendor', 'plotly.min.js');

esbuild.build({
    entryPoints: [path.join(__dirname, 'entry.js')], outfile, format: 'iife', globalName: 'Plotly',
    bundle: true, minify: true, sourcemap: false, legalComments: 'eof', target: 'es2016', logLevel: 'info',
    alias: { stream: 'stream-browserify' },
    define: { global: 'window', 'define.amd': 'false', 'process.env.NODE_DEBUG': 'false' },
    banner: { js: `/*! plotly.js v${version} (MLSec Portal partial bundle, traces: ${TRACES.join(',')}) | MIT licence, ` +
                  'Copyright 2012-2026 Plotly, Inc. (static/vendor/plotly.LICENSE.txt) */' },
}).then(() => {
    // Only map traces need the CSS esbuild extracts (maplibre-gl's); the portal draws none.
    fs.rmSync(outfile.replace(/\.js$/, '.css'), { force: true });
    fs.copyFileSync(require.resolve('plotly.js/LICENSE'), path.join(path.dirname(outfile), 'plotly.LICENSE.txt'));
}).catch(() => process.exit(1));
