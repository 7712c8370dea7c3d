'use strict';
// MLSec Portal's plotly.js: the core (which always carries `scatter`) with exactly the other trace
// types scoring/charts.py draws. A new trace type in charts.py must be registered here too
// (web/tests/test_static_assets.py fails until it is).
var Plotly = require('plotly.js/lib/core');

Plotly.register([
    require('plotly.js/lib/bar'),
    require('plotly.js/lib/heatmap'),
    require('plotly.js/lib/scatterpolar')
]);

module.exports = Plotly;
