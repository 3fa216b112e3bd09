// Shared by the browser test and the console benchmark: how Chromium is
// started here, and a minimal JSON-RPC client for the second, non-browser
// client that changes things behind the page's back.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function launchOptions() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'xend-chromium-'));
  return {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    // no sandbox as root; nothing that would reach out of this machine
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-dev-shm-usage', `--user-data-dir=${profile}`],
    protocolTimeout: 180000,
  };
}

export class JsonRpc {
  constructor(baseUrl) {
    this.endpoint = new URL('jsonrpc', baseUrl).toString();
    this.session = null;
    this.seq = 0;
  }

  async raw(method, params) {
    const res = await fetch(this.endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', method, params, id: ++this.seq }),
    });
    if (!res.ok) throw new Error(`${method}: HTTP ${res.status}`);
    const body = await res.json();
    if (body.error) {
      const e = body.error;
      throw new Error(`${method}: ${Array.isArray(e) ? e.join(' ') : [e.message, ...(e.data || [])].join(' ')}`);
    }
    return body.result;
  }

  async login(user, pass) {
    if (!this.session) this.session = await this.raw('session.login_with_password', [user, pass]);
    return this.session;
  }

  call(method, ...args) { return this.raw(method, [this.session, ...args]); }

  async logout() {
    if (this.session) await this.raw('session.logout', [this.session]);
    this.session = null;
  }
}
