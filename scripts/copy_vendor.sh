#!/bin/sh
# Copy the pinned front-end libraries from node_modules into static/vendor, served by the app itself.
set -e
rm -rf static/vendor
mkdir -p static/vendor
cp node_modules/htmx.org/dist/htmx.min.js static/vendor/
cp node_modules/chart.js/dist/chart.umd.js static/vendor/
cp node_modules/@picocss/pico/css/pico.min.css static/vendor/
