# The web console: static files xend serves at / (see docs/web-console.md).
webconsoledir = $(pkgdatadir)/web
dist_webconsole_DATA = web/index.html web/app.js web/app.css
# the console in a real browser (headless Chromium + puppeteer-core)
TESTS += tests/web/test_web_console.py
EXTRA_DIST += tests/web/console.mjs tests/web/lib.mjs tests/web/package.json tests/web/package-lock.json
