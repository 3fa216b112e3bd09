// The web console in a real browser: headless Chromium (Debian's chromium)
// driven by puppeteer-core.  Logs in, sees dom0, creates and starts a VM from
// the form, then watches a power-state change made by another client appear
// without reloading.  Screenshots go to $XEND_SHOTS.
//
// Environment: XEND_URL (http://127.0.0.1:PORT/), XEND_USER, XEND_PASS,
// XEND_SHOTS (a directory), CHROMIUM (default /usr/bin/chromium).
// Prints PASS/FAIL per check and 'N passed, M failed'; exit 1 on failure.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import puppeteer from 'puppeteer-core';
import { launchOptions, JsonRpc } from './lib.mjs';

const url = process.env.XEND_URL;
const user = process.env.XEND_USER;
const pass = process.env.XEND_PASS;
const shots = process.env.XEND_SHOTS;
const WAIT = { timeout: 60000 };   // generous: a loaded machine is slow, never wrong

let passed = 0, failed = 0;
async function check(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`PASS ${name}`);
  } catch (err) {
    failed++;
    // what the page itself said, and a picture of it
    const said = await page.evaluate(() => ['#login-error', '#new-error', '#upload-error', '#vm-error', '#banner']
      .map((s) => [s, document.querySelector(s).textContent]).filter(([, t]) => t)
      .map(([s, t]) => `${s}: ${t}`).join('; ')).catch(() => '');
    await page.screenshot({ path: `${shots}/failed-${passed + failed}.png` }).catch(() => {});
    console.log(`FAIL ${name}\n  ${String(err && err.stack || err).split('\n').slice(0, 3).join('\n  ')}`
      + `\n  page: ${said || '(no error shown)'}; location ${page.url()}; screenshot failed-${passed + failed}.png`);
  }
}
function assert(cond, msg) { if (!cond) throw new Error(msg); }
// The VM view redraws its action buttons on every event about the VM, so a button found by one
// protocol call may be gone ("Node is detached from document") by the click that follows: find
// and click it in one step inside the page, once it is there and enabled.
async function clickAction(action) {
  await page.waitForFunction((a) => {
    const b = document.querySelector(`#vm-actions button[data-action="${a}"]`);
    if (!b || b.disabled) return false;
    b.click();
    return true;
  }, WAIT, action);
}

const browser = await puppeteer.launch(launchOptions());
const page = await browser.newPage();
await page.setViewport({ width: 1200, height: 900 });
const consoleErrors = [];
page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
page.on('pageerror', (e) => consoleErrors.push(String(e)));
const api = new JsonRpc(url);
const vmName = `web-test-${process.pid}`;
let vmRef = null;
await api.login(user, pass);

try {
  await check('the console page loads and asks for a login', async () => {
    const res = await page.goto(url, { waitUntil: 'load', ...WAIT });
    assert(res.status() === 200, `GET / answered ${res.status()}`);
    await page.waitForSelector('#login-form', { visible: true, ...WAIT });
    await page.screenshot({ path: `${shots}/01-login.png` });
  });

  await check('a wrong password is refused with SESSION_AUTHENTICATION_FAILED', async () => {
    await page.$eval('#login-user', (e, v) => { e.value = v; }, user);
    await page.type('#login-password', 'certainly-not-the-password');
    await page.click('#login-submit');
    await page.waitForFunction(() => document.querySelector('#login-error').textContent.includes('SESSION_AUTHENTICATION_FAILED'), WAIT);
  });

  await check('logging in with PAM shows the VM list with dom0', async () => {
    await page.$eval('#login-password', (e) => { e.value = ''; });
    await page.type('#login-password', pass);
    await page.click('#login-submit');
    await page.waitForSelector('#main-view', { visible: true, ...WAIT });
    await page.waitForFunction(() => [...document.querySelectorAll('#vm-table tbody tr')]
      .some((tr) => tr.cells[0].textContent === 'Domain-0' && tr.cells[1].textContent === 'Running'), WAIT);
    const who = await page.$eval('#whoami', (e) => e.textContent);
    assert(who.startsWith(user), `#whoami is '${who}'`);
    await page.screenshot({ path: `${shots}/02-vm-list.png` });
  });

  await check('the host view shows version, CPUs, memory and uptime', async () => {
    await page.click('a[data-tab=host]');
    await page.waitForFunction(() => {
      const t = document.querySelector('#host-facts').textContent;
      return t.includes('Xen') && t.includes('CPUs') && /Memory total \(MiB\)\d+/.test(t) && /Uptime\d*d? ?\d+h/.test(t);
    }, WAIT);
    // the plots get samples every 2 s
    await page.waitForFunction(() => ['#host-cpu-plot', '#host-mem-plot']
      .every((c) => Number(document.querySelector(c).dataset.samples) >= 3), WAIT);
    await page.screenshot({ path: `${shots}/03-host.png` });
  });

  await check('a VM created and started from the form runs', async () => {
    await page.click('a[data-tab=new]');
    await page.waitForSelector('#new-form', { visible: true, ...WAIT });
    await page.type('#new-name', vmName);
    await page.$eval('#new-memory', (e) => { e.value = '64'; });
    await page.click('#new-start');
    await page.click('#new-submit');
    await page.waitForFunction((n) => document.querySelector('#vm-name').textContent === n
      && document.querySelector('#vm-state').textContent === 'Running', WAIT, vmName);
    vmRef = decodeURIComponent(await page.evaluate(() => location.hash.split('/')[2]));
    const rec = await api.call('VM.get_record', vmRef);
    assert(rec.name_label === vmName && rec.power_state === 'Running', `server says ${rec.name_label} ${rec.power_state}`);
    await page.screenshot({ path: `${shots}/04-vm-running.png` });
  });

  await check("the VM detail shows the guest's console log", async () => {
    await page.waitForFunction(() => document.querySelector('#vm-console-log').textContent.includes('XQ-GUEST-HELLO'), WAIT);
  });

  await check('a pause by another client shows without reloading', async () => {
    await page.evaluate(() => { window.__notReloaded = true; });
    await api.call('VM.pause', vmRef);
    await page.waitForFunction(() => document.querySelector('#vm-state').textContent === 'Paused', WAIT);
    assert(await page.evaluate(() => window.__notReloaded === true), 'the page was reloaded');
    const buttons = await page.$$eval('#vm-actions button', (bs) => bs.map((b) => b.dataset.action));
    assert(buttons.includes('VM.unpause') && !buttons.includes('VM.pause'), `buttons: ${buttons}`);
  });

  await check('the lifecycle buttons drive the VM: unpause, then force off', async () => {
    await clickAction('VM.unpause');
    await page.waitForFunction(() => document.querySelector('#vm-state').textContent === 'Running', WAIT);
    await clickAction('VM.hard_shutdown');
    await page.waitForFunction(() => document.querySelector('#vm-state').textContent === 'Halted', WAIT);
    assert((await api.call('VM.get_power_state', vmRef)) === 'Halted', 'server does not say Halted');
  });

  await check('the VM detail shows its record, metrics and devices', async () => {
    const text = await page.$eval('#vm-view', (e) => e.textContent);
    for (const k of ['memory_static_max', 'VCPUs_max', 'memory_actual', 'Disks', 'Network interfaces']) {
      assert(text.includes(k), `VM view lacks ${k}`);
    }
    await page.waitForFunction(() => Number(document.querySelector('#vm-mem-plot').dataset.samples) >= 2, WAIT);
    await page.screenshot({ path: `${shots}/05-vm-halted.png`, fullPage: true });
  });

  await check('deleting the VM removes it from the list', async () => {
    await clickAction('VM.destroy');
    await page.waitForFunction(() => location.hash === '#/vms', WAIT);
    await page.waitForFunction((n) => ![...document.querySelectorAll('#vm-table tbody tr')]
      .some((tr) => tr.cells[0].textContent === n), WAIT, vmName);
  });

  await check('a VM created from an uploaded Python-style config file runs as the file says', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xend-web-cfg-'));
    const good = path.join(dir, 'guest.cfg');
    fs.writeFileSync(good, `# an xm config file\nname = "${vmName}-cfg"\nmemory = 128\nvcpus = 2\n`
      + `kernel = "/boot/vmlinuz-guest"\nextra = "console=hvc0"\nvif = [ 'mac=00:16:3e:00:00:01' ]\n`);
    const bad = path.join(dir, 'broken.cfg');
    fs.writeFileSync(bad, 'name = "x"\nmemory = os.system("reboot")\n');
    await page.click('a[data-tab=new]');
    await page.waitForSelector('#upload-form', { visible: true, ...WAIT });
    await (await page.$('#upload-file')).uploadFile(bad);
    await page.click('#upload-submit');
    await page.waitForFunction(() => document.querySelector('#upload-error').textContent.includes('broken.cfg:2'), WAIT);
    await (await page.$('#upload-file')).uploadFile(good);
    await page.click('#upload-start');
    await page.click('#upload-submit');
    await page.waitForFunction((n) => document.querySelector('#vm-name').textContent === n
      && document.querySelector('#vm-state').textContent === 'Running', WAIT, `${vmName}-cfg`);
    const ref = decodeURIComponent(await page.evaluate(() => location.hash.split('/')[2]));
    const rec = await api.call('VM.get_record', ref);
    assert(rec.memory_static_max === 134217728 || rec.memory_static_max === '134217728', `memory ${rec.memory_static_max}`);
    assert(String(rec.VCPUs_max) === '2' && rec.PV_kernel === '/boot/vmlinuz-guest', `vcpus ${rec.VCPUs_max} kernel ${rec.PV_kernel}`);
    assert(rec.VIFs.length === 1, `VIFs: ${rec.VIFs}`);
    const vif = await api.call('VIF.get_record', rec.VIFs[0]);
    assert(vif.MAC === '00:16:3e:00:00:01', `MAC ${vif.MAC}`);
    await page.screenshot({ path: `${shots}/06-vm-from-file.png` });
    await api.call('VM.hard_shutdown', ref);
    await api.call('VM.destroy', ref);
    fs.rmSync(dir, { recursive: true });
  });

  await check('the page logged no error and loaded nothing from elsewhere', async () => {
    const foreign = [];
    page.on('request', (r) => { if (!r.url().startsWith(url)) foreign.push(r.url()); });
    await page.evaluate(() => { location.hash = '#/vms'; });
    await page.reload({ waitUntil: 'load', ...WAIT });
    await page.waitForSelector('#main-view', { visible: true, ...WAIT });
    await page.waitForFunction(() => document.querySelectorAll('#vm-table tbody tr').length > 0, WAIT);
    assert(foreign.length === 0, `requests elsewhere: ${foreign}`);
    assert(consoleErrors.length === 0, `console errors: ${consoleErrors.join(' | ')}`);
  });
  await check('a read-only user sees the role and no lifecycle action it may not take', async () => {
    const ref = await api.call('VM.create', { name_label: `${vmName}-ro`, name_description: '', user_version: '1',
      is_a_template: false, auto_power_on: false, memory_static_max: '67108864', memory_dynamic_max: '67108864',
      memory_dynamic_min: '67108864', memory_static_min: '67108864', VCPUs_params: {}, VCPUs_max: '1',
      VCPUs_at_startup: '1', actions_after_shutdown: 'destroy', actions_after_reboot: 'restart',
      actions_after_crash: 'restart', PV_bootloader: '', PV_kernel: '/boot/k', PV_ramdisk: '', PV_args: '',
      PV_bootloader_args: '', HVM_boot_policy: '', HVM_boot_params: {}, platform: {}, PCI_bus: '', other_config: {} });
    await page.click('#logout');
    await page.waitForSelector('#login-form', { visible: true, ...WAIT });
    await page.$eval('#login-user', (e, v) => { e.value = v; }, process.env.XEND_RO_USER);
    await page.type('#login-password', process.env.XEND_RO_PASS);
    await page.click('#login-submit');
    await page.waitForSelector('#main-view', { visible: true, ...WAIT });
    const who = await page.$eval('#whoami', (e) => e.textContent);
    assert(who === `${process.env.XEND_RO_USER} (read-only)`, `#whoami is '${who}'`);
    await page.evaluate((r) => { location.hash = `#/vm/${encodeURIComponent(r)}`; }, ref);
    await page.waitForFunction(() => document.querySelector('#vm-state').textContent === 'Halted', WAIT);
    await page.waitForFunction(() => document.querySelector('#vm-console-log').textContent.includes('RBAC_PERMISSION_DENIED'), WAIT);
    const start = await page.$eval('button[data-action="VM.start"]', (b) => [b.disabled, b.title]);
    assert(start[0] === true && start[1].includes('role'), `Start button: ${start}`);
    // the server refuses what the page would not offer anyway
    await page.click('a[data-tab=new]');
    // the tab is shown on the next hashchange: typing before it is visible would go nowhere, leave the
    // required name empty and let the browser keep the form from being submitted at all
    await page.waitForSelector('#new-form', { visible: true, ...WAIT });
    await page.type('#new-name', 'not-allowed');
    const typed = await page.$eval('#new-name', (e) => e.value);
    assert(typed === 'not-allowed', `#new-name holds '${typed}'`);
    await page.click('#new-submit');
    await page.waitForFunction(() => document.querySelector('#new-error').textContent.startsWith('RBAC_PERMISSION_DENIED'), WAIT);
    await page.screenshot({ path: `${shots}/07-read-only.png` });
    await api.call('VM.destroy', ref);
  });
} finally {
  await api.logout().catch(() => {});
  await browser.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
