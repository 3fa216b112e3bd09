/* xend's web console: a small single-page application served by xend at /.
 * It speaks JSON-RPC 2.0 to the same origin's /jsonrpc (XAPI's dialect, see
 * docs/web-console.md), follows changes through event.from and fetches
 * nothing from anywhere else. */
'use strict';

const $ = (sel) => document.querySelector(sel);

/* ---------------------------------------------------------------- rpc -- */

class ApiError extends Error {
  constructor(description) {
    super(description.join(' '));
    this.code = description[0];
    this.params = description.slice(1);
  }
}

let rpcSeq = 0;
async function rpc(method, params) {
  const res = await fetch('jsonrpc', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', method, params, id: ++rpcSeq }),
  });
  if (!res.ok) throw new ApiError(['HTTP_ERROR', String(res.status), res.statusText]);
  const body = await res.json();
  if (body.error) {
    const e = body.error;
    if (Array.isArray(e)) throw new ApiError(e.map(String));
    const data = Array.isArray(e.data) ? e.data.map(String) : [];
    throw new ApiError([String(e.message), ...data]);
  }
  return body.result;
}

const state = {
  session: null,
  user: '',
  permissions: null,      /* null: the server does not say; otherwise a Set */
  host: null,             /* host record */
  hostRef: null,
  vms: new Map(),         /* ref -> VM record */
  metrics: new Map(),     /* VM_metrics ref -> record */
  token: '',
  eventsRunning: false,
  samples: { host: { cpu: [], mem: [] }, vm: new Map() },
};

const call = (method, ...args) => rpc(method, [state.session, ...args]);

/* What a role may do: the session record carries the permissions the server
 * granted (XAPI's rbac_permissions: lower-case "class.message" names).  A
 * server that does not report them is taken to allow everything; it still
 * checks every call itself. */
function allowed(method) {
  if (!state.permissions) return true;
  return state.permissions.has(method.toLowerCase());
}

/* ------------------------------------------------------------- helpers -- */

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

const mib = (bytes) => (Number(bytes) / 1048576).toFixed(0);

function showError(where, err) {
  const node = $(where);
  node.textContent = err ? (err.code ? `${err.code}: ${err.params.join(', ')}` : String(err)) : '';
}

function fillFacts(dl, pairs) {
  dl.replaceChildren();
  for (const [k, v] of pairs) {
    dl.append(el('dt', {}, k), el('dd', {}, typeof v === 'object' ? JSON.stringify(v) : String(v)));
  }
}

function fmtDuration(seconds) {
  if (!isFinite(seconds) || seconds < 0) return '';
  const d = Math.floor(seconds / 86400), h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60), s = Math.floor(seconds % 60);
  return (d ? `${d}d ` : '') + `${h}h ${m}m ${s}s`;
}

/* XenAPI datetimes come as "YYYYMMDDTHH:MM:SSZ" (or RFC 3339). */
function parseDate(v) {
  if (typeof v !== 'string') return NaN;
  const m = /^(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):(\d{2}):(\d{2})/.exec(v);
  if (!m) return NaN;
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
}

/* -------------------------------------------------------------- plots -- */

const MAX_SAMPLES = 120;

function pushSample(list, value) {
  list.push(value);
  if (list.length > MAX_SAMPLES) list.shift();
}

function plot(canvas, series, maxHint) {
  const ctx = canvas.getContext('2d');
  const w = canvas.width, h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  canvas.dataset.samples = '0';
  ctx.strokeStyle = '#ccd';
  ctx.strokeRect(0.5, 0.5, w - 1, h - 1);
  if (!series.length) return;
  const max = Math.max(maxHint || 0, ...series, 1);
  ctx.fillStyle = '#556';
  ctx.font = '11px sans-serif';
  ctx.fillText(max.toFixed(0), 4, 12);
  ctx.fillText(series[series.length - 1].toFixed(1), w - 48, 12);
  ctx.strokeStyle = '#2a6db0';
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  series.forEach((v, i) => {
    const x = (i / (MAX_SAMPLES - 1)) * (w - 2) + 1;
    const y = h - 2 - (v / max) * (h - 16);
    if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
  });
  ctx.stroke();
  ctx.fillStyle = '#2a6db0';
  const last = series.length - 1;
  const lx = (last / (MAX_SAMPLES - 1)) * (w - 2) + 1, ly = h - 2 - (series[last] / max) * (h - 16);
  ctx.fillRect(lx - 2, ly - 2, 4, 4);
  canvas.dataset.samples = String(series.length);
}

/* ------------------------------------------------------------ routing -- */

function route() {
  if (!state.session) return showLogin();
  const hash = location.hash || '#/vms';
  const [, tab, arg] = hash.split('/');
  for (const t of document.querySelectorAll('.tab')) t.hidden = true;
  for (const a of document.querySelectorAll('#tabs a')) a.classList.toggle('active', a.dataset.tab === tab);
  if (tab === 'host') { $('#host-view').hidden = false; renderHost(); }
  else if (tab === 'vm' && arg) { $('#vm-view').hidden = false; renderVm(decodeURIComponent(arg)); }
  else if (tab === 'new') { $('#new-view').hidden = false; }
  else { $('#vms-view').hidden = false; renderVmList(); }
}

/* -------------------------------------------------------------- login -- */

function showLogin() {
  $('#main-view').hidden = true;
  $('#logout').hidden = true;
  $('#whoami').textContent = '';
  $('#login-view').hidden = false;
  $('#login-password').focus();
}

async function login(ev) {
  ev.preventDefault();
  showError('#login-error', null);
  const user = $('#login-user').value, password = $('#login-password').value;
  try {
    state.session = await rpc('session.login_with_password', [user, password, '1.0', 'xend-web']);
  } catch (err) {
    showError('#login-error', err.code === 'SESSION_AUTHENTICATION_FAILED'
      ? { code: 'SESSION_AUTHENTICATION_FAILED', params: ['wrong user name or password'] } : err);
    return;
  }
  $('#login-password').value = '';
  state.user = user;
  sessionStorage.setItem('xend-session', state.session);
  await enter();
}

async function enter() {
  try {
    const rec = await call('session.get_record', state.session);
    state.user = rec.this_user || state.user;
    /* rbac_permissions: the role's name first, then its "class.message"
     * permissions (docs/security.md) */
    const perms = Array.isArray(rec.rbac_permissions) ? rec.rbac_permissions.map(String) : null;
    const role = perms && perms.length && !perms[0].includes('.') ? perms[0] : '';
    state.permissions = perms ? new Set(perms.map((p) => p.toLowerCase())) : null;
    $('#whoami').textContent = role ? `${state.user} (${role})` : state.user;
  } catch (err) {
    if (err.code === 'SESSION_INVALID') { state.session = null; sessionStorage.removeItem('xend-session'); return showLogin(); }
    throw err;
  }
  $('#login-view').hidden = true;
  $('#main-view').hidden = false;
  $('#logout').hidden = false;
  await loadAll();
  route();
  startEvents();
  startSampling();
}

async function logout() {
  const s = state.session;
  state.session = null;
  state.eventsRunning = false;
  sessionStorage.removeItem('xend-session');
  try { await rpc('session.logout', [s]); } catch (_) { /* gone already */ }
  location.hash = '';
  showLogin();
}

/* -------------------------------------------------------------- model -- */

/* The three lists are fetched at once; the page is drawn as soon as the VMs
 * are in (the metrics fill in when they arrive). */
async function loadAll() {
  const [hosts, vms, metrics] = [call('host.get_all_records'), call('VM.get_all_records'),
    call('VM_metrics.get_all_records')];
  const [ref, host] = Object.entries(await hosts)[0] || [null, null];
  state.hostRef = ref;
  state.host = host;
  $('#hostname').textContent = host ? host.name_label : '';
  state.vms = new Map(Object.entries(await vms));
  metrics.then((m) => { state.metrics = new Map(Object.entries(m)); if (currentVmRef()) route(); }, () => {});
}

/* event.from: every change to a VM (or its metrics) is applied to the model
 * and re-rendered, so the page never needs reloading. */
async function startEvents() {
  if (state.eventsRunning) return;
  state.eventsRunning = true;
  try {
    state.token = await call('event.inject', 'host', state.hostRef);
  } catch (err) {
    state.token = '';
  }
  while (state.eventsRunning && state.session) {
    let batch;
    try {
      batch = await call('event.from', ['vm', 'vm_metrics', 'host'], state.token, 30.0);
    } catch (err) {
      if (!state.session) return;
      if (err.code === 'SESSION_INVALID') { state.eventsRunning = false; return showLogin(); }
      showBanner(`events: ${err.message}; retrying`);
      await new Promise((r) => setTimeout(r, 2000));
      continue;
    }
    showBanner(null);
    state.token = batch.token;
    let vmsChanged = false;
    for (const ev of batch.events) {
      const cls = String(ev.class).toLowerCase();
      if (cls === 'vm') {
        if (ev.operation === 'del') state.vms.delete(ev.ref);
        else if (ev.snapshot) state.vms.set(ev.ref, ev.snapshot);
        vmsChanged = true;
      } else if (cls === 'vm_metrics') {
        if (ev.operation === 'del') state.metrics.delete(ev.ref);
        else if (ev.snapshot) state.metrics.set(ev.ref, ev.snapshot);
        vmsChanged = true;
      } else if (cls === 'host' && ev.snapshot && ev.ref === state.hostRef) {
        state.host = ev.snapshot;
      }
    }
    if (vmsChanged) route();
  }
}

function showBanner(text) {
  const b = $('#banner');
  b.hidden = !text;
  b.textContent = text || '';
}

/* Host and VM plots sample the metrics every 2 s. */
let samplingTimer = null;
function startSampling() {
  if (samplingTimer) return;
  const tick = async () => {
    if (!state.session) { samplingTimer = null; return; }
    try { await sample(); } catch (_) { /* the next tick tries again */ }
    samplingTimer = setTimeout(tick, 2000);
  };
  tick();
}

async function sample() {
  const host = state.host;
  if (!host) return;
  const cpus = await Promise.all(host.host_CPUs.map((c) => call('host_cpu.get_utilisation', c)));
  const cpu = cpus.length ? (100 * cpus.reduce((a, b) => a + Number(b), 0)) / cpus.length : 0;
  const hm = await call('host_metrics.get_record', host.metrics);
  pushSample(state.samples.host.cpu, cpu);
  pushSample(state.samples.host.mem, (Number(hm.memory_total) - Number(hm.memory_free)) / 1048576);
  state.hostMetrics = hm;
  const cur = currentVmRef();
  if (cur && state.vms.has(cur)) await refreshConsoleLog(cur);
  if (cur && state.vms.has(cur)) {
    const vm = state.vms.get(cur);
    const m = await call('VM_metrics.get_record', vm.metrics);
    state.metrics.set(vm.metrics, m);
    const util = Object.values(m.VCPUs_utilisation || {}).map(Number);
    const s = state.samples.vm.get(cur) || { cpu: [], mem: [] };
    pushSample(s.cpu, util.length ? (100 * util.reduce((a, b) => a + b, 0)) / util.length : 0);
    pushSample(s.mem, Number(m.memory_actual) / 1048576);
    state.samples.vm.set(cur, s);
  }
  if (!$('#host-view').hidden) renderHost();
  if (!$('#vm-view').hidden) renderVmPlots(cur);
}

/* The tail of the VM's console log (GET /console/log, vm-operator and up);
 * a role that may not see it gets a line saying so. */
async function refreshConsoleLog(ref) {
  const pre = $('#vm-console-log');
  const res = await fetch(`console/log?vm=${encodeURIComponent(ref)}`, { headers: { 'X-Session': state.session } });
  let text;
  if (res.ok) text = await res.text();
  else {
    const body = await res.json().catch(() => ({ error: [`HTTP_${res.status}`] }));
    text = `(${(body.error || []).join(' ')})`;
  }
  if (pre.textContent !== text) {
    const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    pre.textContent = text;
    if (atEnd) pre.scrollTop = pre.scrollHeight;
  }
}

function currentVmRef() {
  const [, tab, arg] = (location.hash || '').split('/');
  return tab === 'vm' && arg ? decodeURIComponent(arg) : null;
}

/* ------------------------------------------------------------- render -- */

function renderHost() {
  const h = state.host;
  if (!h) return;
  $('#host-name').textContent = h.name_label;
  const sv = h.software_version || {};
  const dom0 = [...state.vms.values()].find((v) => v.is_control_domain);
  const dom0m = dom0 && state.metrics.get(dom0.metrics);
  const up = dom0m ? (Date.now() - parseDate(dom0m.start_time)) / 1000 : NaN;
  const hm = state.hostMetrics;
  fillFacts($('#host-facts'), [
    ['Xen', sv.Xen || ''],
    ['xend', sv.xend || ''],
    ['Kernel', `${sv.system || ''} ${sv.release || ''} ${sv.machine || ''}`],
    ['CPUs', (h.cpu_configuration || {}).nr_cpus || h.host_CPUs.length],
    ['Scheduler', h.sched_policy],
    ['Memory total (MiB)', hm ? mib(hm.memory_total) : ''],
    ['Memory free (MiB)', hm ? mib(hm.memory_free) : ''],
    ['Uptime', fmtDuration(up)],
    ['Running VMs', [...state.vms.values()].filter((v) => v.power_state === 'Running').length],
  ]);
  plot($('#host-cpu-plot'), state.samples.host.cpu, 100);
  plot($('#host-mem-plot'), state.samples.host.mem, hm ? Number(hm.memory_total) / 1048576 : 0);
}

function renderVmList() {
  const filter = $('#vm-filter').value.toLowerCase();
  const rows = [...state.vms.entries()]
    .filter(([, v]) => !v.is_a_template && v.name_label.toLowerCase().includes(filter))
    .sort(([, a], [, b]) => (b.is_control_domain - a.is_control_domain) || a.name_label.localeCompare(b.name_label));
  const tbody = $('#vm-table tbody');
  const frag = document.createDocumentFragment();
  frag.append(...rows.map(([ref, v]) => el('tr', { dataset: { ref } },
    el('td', {}, el('a', { href: `#/vm/${encodeURIComponent(ref)}`, class: 'vm-link' }, v.name_label)),
    el('td', { class: `state ${v.power_state}` }, v.power_state),
    el('td', {}, v.VCPUs_at_startup),
    el('td', {}, mib(v.memory_dynamic_max)),
    el('td', {}, v.domid === '-1' || v.domid === -1 ? '' : v.domid))));
  tbody.replaceChildren(frag);
  $('#vm-count').textContent = `(${rows.length})`;
}

/* The lifecycle buttons a VM in each power state offers. */
const ACTIONS = [
  ['Start', 'VM.start', ['Halted'], (ref) => call('VM.start', ref, false)],
  ['Shut down', 'VM.clean_shutdown', ['Running'], (ref) => call('VM.clean_shutdown', ref)],
  ['Reboot', 'VM.clean_reboot', ['Running'], (ref) => call('VM.clean_reboot', ref)],
  ['Pause', 'VM.pause', ['Running'], (ref) => call('VM.pause', ref)],
  ['Unpause', 'VM.unpause', ['Paused'], (ref) => call('VM.unpause', ref)],
  ['Suspend', 'VM.suspend', ['Running'], (ref) => call('VM.suspend', ref)],
  ['Resume', 'VM.resume', ['Suspended'], (ref) => call('VM.resume', ref, false)],
  ['Force off', 'VM.hard_shutdown', ['Running', 'Paused', 'Crashed'], (ref) => call('VM.hard_shutdown', ref)],
  ['Delete', 'VM.destroy', ['Halted'], async (ref) => { await call('VM.destroy', ref); location.hash = '#/vms'; }],
];

function renderVm(ref) {
  const vm = state.vms.get(ref);
  if (!vm) {
    $('#vm-name').textContent = 'No such VM';
    $('#vm-state').textContent = '';
    $('#vm-actions').replaceChildren();
    return;
  }
  $('#vm-name').textContent = vm.name_label;
  const st = $('#vm-state');
  st.textContent = vm.power_state;
  st.className = `state ${vm.power_state}`;
  const box = $('#vm-actions');
  box.replaceChildren(...ACTIONS
    .filter(([, method, states]) => states.includes(vm.power_state) && !(vm.is_control_domain))
    .map(([label, method, , run]) => el('button', {
      type: 'button',
      'data-action': method,
      ...(allowed(method) ? {} : { disabled: '', title: 'your role does not allow this' }),
      onclick: async (e) => {
        e.target.disabled = true;
        showError('#vm-error', null);
        try { await run(ref); } catch (err) { showError('#vm-error', err); e.target.disabled = false; }
      },
    }, label)));
  const shown = ['uuid', 'power_state', 'name_description', 'domid', 'is_control_domain', 'auto_power_on',
    'memory_static_min', 'memory_dynamic_min', 'memory_dynamic_max', 'memory_static_max',
    'VCPUs_max', 'VCPUs_at_startup', 'actions_after_shutdown', 'actions_after_reboot', 'actions_after_crash',
    'PV_kernel', 'PV_ramdisk', 'PV_args', 'PV_bootloader', 'HVM_boot_policy', 'platform', 'other_config'];
  fillFacts($('#vm-record'), shown.map((k) => [k, vm[k] ?? '']));
  const m = state.metrics.get(vm.metrics);
  fillFacts($('#vm-metrics'), m ? [
    ['memory_actual (MiB)', mib(m.memory_actual)], ['VCPUs_number', m.VCPUs_number],
    ['VCPUs_utilisation', m.VCPUs_utilisation], ['start_time', m.start_time], ['last_updated', m.last_updated],
  ] : []);
  renderDevices(vm);
  renderVmPlots(ref);
}

function renderVmPlots(ref) {
  const s = (ref && state.samples.vm.get(ref)) || { cpu: [], mem: [] };
  plot($('#vm-cpu-plot'), s.cpu, 100);
  plot($('#vm-mem-plot'), s.mem, 0);
}

let devicesFor = null;
async function renderDevices(vm) {
  const key = `${vm.uuid}:${vm.VBDs.join()}:${vm.VIFs.join()}:${vm.consoles.join()}:${vm.power_state}`;
  if (devicesFor === key) return;
  devicesFor = key;
  try {
    const vbds = await Promise.all(vm.VBDs.map((r) => call('VBD.get_record', r)));
    const vifs = await Promise.all(vm.VIFs.map((r) => call('VIF.get_record', r)));
    const cons = await Promise.all(vm.consoles.map((r) => call('console.get_record', r)));
    const table = (head, rows) => el('table', {}, el('thead', {}, el('tr', {}, ...head.map((h) => el('th', {}, h)))),
      el('tbody', {}, ...rows.map((r) => el('tr', {}, ...r.map((c) => el('td', {}, c))))));
    $('#vm-devices').replaceChildren(
      el('h4', {}, 'Disks'), table(['device', 'type', 'mode', 'attached'],
        vbds.map((b) => [b.device, b.type, b.mode, String(b.currently_attached)])),
      el('h4', {}, 'Network interfaces'), table(['device', 'MAC', 'MTU', 'attached'],
        vifs.map((v) => [v.device, v.MAC, v.MTU, String(v.currently_attached)])));
    $('#vm-consoles').replaceChildren(table(['protocol', 'location'], cons.map((c) => [c.protocol, c.location])));
  } catch (err) {
    devicesFor = null;
    showError('#vm-error', err);
  }
}

/* ------------------------------------------------------------- create -- */

function vmRecord({ name, memoryMiB, vcpus, kernel, args }) {
  const mem = String(BigInt(memoryMiB) * 1048576n);
  return {
    name_label: name, name_description: 'created in the web console', user_version: '1',
    is_a_template: false, auto_power_on: false,
    memory_static_max: mem, memory_dynamic_max: mem, memory_dynamic_min: mem, memory_static_min: mem,
    VCPUs_params: {}, VCPUs_max: String(vcpus), VCPUs_at_startup: String(vcpus),
    actions_after_shutdown: 'destroy', actions_after_reboot: 'restart', actions_after_crash: 'restart',
    PV_bootloader: '', PV_kernel: kernel || '', PV_ramdisk: '', PV_args: args || '', PV_bootloader_args: '',
    HVM_boot_policy: '', HVM_boot_params: {}, platform: {}, PCI_bus: '', other_config: {},
  };
}

async function createFromForm(ev) {
  ev.preventDefault();
  showError('#new-error', null);
  const rec = vmRecord({
    name: $('#new-name').value, memoryMiB: $('#new-memory').value, vcpus: $('#new-vcpus').value,
    kernel: $('#new-kernel').value, args: $('#new-args').value,
  });
  try {
    const ref = await call('VM.create', rec);
    if ($('#new-start').checked) await call('VM.start', ref, false);
    $('#new-form').reset();
    location.hash = `#/vm/${encodeURIComponent(ref)}`;
  } catch (err) {
    showError('#new-error', err);
  }
}

/* A config file is turned into its creation plan by the server (the library
 * xm uses: POST /config/plan, docs/web-console.md); the plan's steps run
 * here with this session, so each call is checked against the user's role.
 * Lookups bind symbols; a create step's "refs" name the symbols its ref
 * fields take.  On a failure the VM and the disks this run made are
 * destroyed again, as xm does. */
async function runPlan(steps) {
  const bound = new Map();              /* symbol -> ref */
  const made = [];                      /* [class, ref] this run created */
  const first = async (method, pred) => {
    const all = await call(method);
    return Object.entries(all).find(([, r]) => pred(r));
  };
  let netTurn = 0;
  try {
    for (const st of steps) {
      if (st.kind === 'default_sr') {
        const pools = await call('pool.get_all').catch(() => []);
        let sr = pools.length ? await call('pool.get_default_SR', pools[0]).catch(() => '') : '';
        if (!sr || sr === 'OpaqueRef:NULL') sr = (await call('SR.get_all'))[0];
        if (!sr) throw new ApiError(['SR_MISSING', 'the server has no storage repository for the disks']);
        bound.set(st.bind, sr);
      } else if (st.kind === 'find_vdi') {
        const hit = await first('VDI.get_all_records', (r) => (r.other_config || {}).location === st.arg);
        if (hit) bound.set(st.bind, hit[0]);
      } else if (st.kind === 'find_network') {
        const all = Object.entries(await call('network.get_all_records'));
        const hit = st.arg
          ? all.find(([, n]) => n.name_label === st.arg || (n.other_config || {}).bridge === st.arg)
          : all[netTurn++ % Math.max(all.length, 1)];
        if (!hit) throw new ApiError(['NETWORK_MISSING', st.arg ? `network ${st.arg} does not exist` : 'the server has no network']);
        bound.set(st.bind, hit[0]);
      } else if (st.kind === 'find_ppci') {
        const hex = (n, w) => Number(n).toString(16).padStart(w, '0');
        const hit = await first('PPCI.get_all_records',
          (p) => `${hex(p.domain, 4)}:${hex(p.bus, 2)}:${hex(p.slot, 2)}.${hex(p.func, 1)}` === st.arg);
        if (hit) bound.set(st.bind, hit[0]);
      } else if (st.kind === 'create') {
        if (st.unless && bound.has(st.unless)) continue;
        const refs = Object.entries(st.refs || {});
        if (refs.some(([, sym]) => !bound.has(sym))) continue;   /* e.g. a PCI device this host lacks */
        const rec = { ...st.record };
        for (const [field, sym] of refs) rec[field] = bound.get(sym);
        const ref = await call(st.method, rec);
        const cls = st.method.split('.')[0];
        if (cls === 'VM' || cls === 'VDI') made.push([cls, ref]);
        if (st.bind) bound.set(st.bind, ref);
      }
    }
  } catch (err) {
    for (const [cls, ref] of made.reverse()) await call(`${cls}.destroy`, ref).catch(() => {});
    throw err;
  }
  const vm = bound.get('vm');
  /* every domain has a text console; a file that names none still gets one */
  if (!steps.some((st) => st.method === 'console.create')) {
    await call('console.create', { VM: vm, protocol: 'vt100', other_config: {} }).catch(() => {});
  }
  return vm;
}

async function createFromFile(ev) {
  ev.preventDefault();
  showError('#upload-error', null);
  const file = $('#upload-file').files[0];
  if (!file) return showError('#upload-error', 'choose a file first');
  try {
    const res = await fetch(`config/plan?name=${encodeURIComponent(file.name)}`, {
      method: 'POST', headers: { 'Content-Type': 'text/plain', 'X-Session': state.session }, body: await file.text(),
    });
    const plan = await res.json();
    if (plan.error) throw new ApiError(plan.error.map(String));
    if (!res.ok) throw new ApiError(['HTTP_ERROR', String(res.status)]);
    const vmRef = await runPlan(plan.steps);
    if ($('#upload-start').checked) await call('VM.start', vmRef, false);
    $('#upload-form').reset();
    location.hash = `#/vm/${encodeURIComponent(vmRef)}`;
  } catch (err) {
    showError('#upload-error', err);
  }
}

/* --------------------------------------------------------------- boot -- */

window.addEventListener('hashchange', route);
$('#login-form').addEventListener('submit', login);
$('#logout').addEventListener('click', logout);
$('#vm-filter').addEventListener('input', renderVmList);
$('#new-form').addEventListener('submit', createFromForm);
$('#upload-form').addEventListener('submit', createFromFile);

(async () => {
  state.session = sessionStorage.getItem('xend-session');
  if (state.session) {
    try { await enter(); return; } catch (_) { state.session = null; }
  }
  showLogin();
})();
