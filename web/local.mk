# The web console: static files xend serves at / (see docs/web-console.md).
webconsoledir = $(pkgdatadir)/web
dist_webconsole_DATA = web/index.html web/app.js web/app.css
