#!/bin/sh
# Copy the pinned front-end libraries from node_modules into static/vendor, served by the app itself.
set -e
rm -rf static/vendor
mkdir -p static/vendor
cp node_modules/htmx.org/dist/htmx.min.js static/vendor/
cp node_modules/chart.js/dist/chart.umd.js node_modules/chart.js/dist/chart.umd.js.map static/vendor/  # the map: collectstatic (DEBUG=0) follows its sourceMappingURL
cp node_modules/@picocss/pico/css/pico.min.css static/vendor/
