// The web console's speed in headless Chromium: time from "Log in" to a list
// of N VMs on screen, and from an API call made by another client to the
// changed power state on screen (measured inside the page by a
// MutationObserver, so no puppeteer polling is counted).
//
// Environment: XEND_URL, XEND_USER, XEND_PASS, BENCH_VMS (default 1000),
// BENCH_ROUNDS (default 40).  Prints a table and BENCH lines (bench/lib.sh).
import { createRequire } from 'node:module';
const require = createRequire(new URL('../../tests/web/package.json', import.meta.url));
const puppeteer = require('puppeteer-core');
const { launchOptions, JsonRpc } = await import('../../tests/web/lib.mjs');

const url = process.env.XEND_URL;
const nVms = Number(process.env.BENCH_VMS || 1000);
const rounds = Number(process.env.BENCH_ROUNDS || 40);
const WAIT = { timeout: 300000 };
const api = new JsonRpc(url);
await api.login(process.env.XEND_USER, process.env.XEND_PASS);

const have = Object.values(await api.call('VM.get_all_records')).filter((v) => !v.is_control_domain).length;
const mem = String(64 * 1048576);
const rec = (i) => ({
  name_label: `bench-${i}`, name_description: '', user_version: '1', is_a_template: false, auto_power_on: false,
  memory_static_max: mem, memory_dynamic_max: mem, memory_dynamic_min: mem, memory_static_min: mem,
  VCPUs_params: {}, VCPUs_max: '1', VCPUs_at_startup: '1', actions_after_shutdown: 'destroy',
  actions_after_reboot: 'restart', actions_after_crash: 'restart', PV_bootloader: '', PV_kernel: '',
  PV_ramdisk: '', PV_args: '', PV_bootloader_args: '', HVM_boot_policy: '', HVM_boot_params: {},
  platform: {}, PCI_bus: '', other_config: {},
});
for (let i = have; i < nVms; i += 16) {
  await Promise.all(Array.from({ length: Math.min(16, nVms - i) }, (_, k) => api.call('VM.create', rec(i + k))));
}
const target = (await api.call('VM.get_by_name_label', 'bench-0'))[0];
await api.call('VM.start', target, false);

const browser = await puppeteer.launch(launchOptions());
const page = await browser.newPage();
await page.setViewport({ width: 1200, height: 900 });
await page.goto(url, { waitUntil: 'load', ...WAIT });
await page.waitForSelector('#login-form', { visible: true, ...WAIT });
await page.type('#login-password', process.env.XEND_PASS);
await page.$eval('#login-user', (e, v) => { e.value = v; }, process.env.XEND_USER);
// Time in the page itself: a MutationObserver notes when the table first
// holds all N rows (puppeteer's own polling would add its round trips).
const watchRows = (n) => {
  window.__rowsAt = null;
  const tbody = document.querySelector('#vm-table tbody');
  const obs = new MutationObserver(() => {
    if (tbody.rows.length >= n && window.__rowsAt === null) { window.__rowsAt = performance.now(); obs.disconnect(); }
  });
  obs.observe(tbody, { childList: true });
};
await page.evaluate(watchRows, nVms);
const t0 = await page.evaluate(() => performance.now());
await page.click('#login-submit');
await page.waitForFunction(() => window.__rowsAt !== null, WAIT);
const listMs = Math.round((await page.evaluate(() => window.__rowsAt)) - t0);
// of which the PAM login (the first call the page makes)
const loginMs = Math.round(await page.evaluate(() => {
  const r = performance.getEntriesByType('resource').find((e) => e.name.endsWith('/jsonrpc'));
  return r.responseEnd - r.startTime;
}));
// a reload with the session kept (sessionStorage): no login, the list alone
await page.evaluateOnNewDocument((n) => {
  document.addEventListener('DOMContentLoaded', () => {
    window.__rowsAt = null;
    const tbody = document.querySelector('#vm-table tbody');
    const obs = new MutationObserver(() => {
      if (tbody.rows.length >= n && window.__rowsAt === null) { window.__rowsAt = performance.now(); obs.disconnect(); }
    });
    obs.observe(tbody, { childList: true });
  });
}, nVms);
await page.reload({ waitUntil: 'load', ...WAIT });
await page.waitForFunction(() => window.__rowsAt !== null && window.__rowsAt !== undefined, WAIT);
const reloadMs = Math.round(await page.evaluate(() => window.__rowsAt));

await page.goto(`${url}#/vm/${encodeURIComponent(target)}`, { waitUntil: 'load', ...WAIT });
await page.waitForFunction(() => document.querySelector('#vm-state').textContent === 'Running', WAIT);
await page.evaluate(() => {
  window.__changes = [];
  new MutationObserver(() => window.__changes.push([document.querySelector('#vm-state').textContent, Date.now()]))
    .observe(document.querySelector('#vm-state'), { childList: true, characterData: true, subtree: true });
});
const lat = [];
for (let i = 0; i < rounds; i++) {
  const want = i % 2 === 0 ? 'Paused' : 'Running';
  const before = await page.evaluate(() => window.__changes.length);
  const start = Date.now();
  await api.call(want === 'Paused' ? 'VM.pause' : 'VM.unpause', target);
  const seen = await page.waitForFunction((b, w) => {
    const c = window.__changes.slice(b).find(([s]) => s === w);
    return c && c[1];
  }, WAIT, before, want);
  lat.push((await seen.jsonValue()) - start);
}
await browser.close();
await api.call('VM.hard_shutdown', target).catch(() => {});
await api.logout();

lat.sort((a, b) => a - b);
const pct = (p) => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))];
console.log(`web console, ${nVms} VMs, ${rounds} state changes`);
console.log(`  "Log in" -> ${nVms} rows on screen: ${listMs} ms, of which the PAM login ${loginMs} ms`);
console.log(`  page load with a live session -> ${nVms} rows on screen: ${reloadMs} ms   (target <= 1000 ms)`);
console.log(`  API call -> state on screen: p50 ${pct(50)} ms, p99 ${pct(99)} ms, max ${lat[lat.length - 1]} ms   (target <= 200 ms)`);
console.log(`BENCH name=web-console-list vms=${nVms} load_ms=${reloadMs} login_to_list_ms=${listMs} pam_login_ms=${loginMs} target_ms=1000 status=${reloadMs <= 1000 ? 'PASS' : 'FAIL'}`);
console.log(`BENCH name=web-console-event rounds=${rounds} p50_ms=${pct(50)} p99_ms=${pct(99)} max_ms=${lat[lat.length - 1]} target_ms=200 status=${pct(99) <= 200 ? 'PASS' : 'FAIL'}`);
