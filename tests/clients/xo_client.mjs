// Xen Orchestra's client (npm xen-api, unchanged) against xend, in one
// transport: node xo_client.mjs URL USER PASSWORD json-rpc|xml-rpc
// Connects with events on, lists, follows a VM through its lifecycle by
// events only, and fails if the client logs any warning or error.
// Prints "N passed, M failed" and exits non-zero on any failure.
import { createClient } from 'xen-api'

const [url, user, password, transport] = process.argv.slice(2)
const DEADLINE_MS = Number(process.env.XEND_TEST_DEADLINE_MS || 60000)

let passed = 0
let failed = 0
const logged = []
for (const level of ['warn', 'error']) {
  const orig = console[level].bind(console)
  console[level] = (...args) => {
    logged.push(`${level}: ${args.map(a => (a instanceof Error ? a.stack : String(a))).join(' ')}`)
    orig(...args)
  }
}

function check(cond, what, detail) {
  if (cond) {
    passed++
    console.log(`ok - ${what}`)
  } else {
    failed++
    console.log(`not ok - ${what}${detail === undefined ? '' : ': ' + JSON.stringify(detail)}`)
  }
  return cond
}

// Resolve when pred(object) holds for the object with this $ref in the
// client's cache (fed by event.from only), or reject after the deadline.
function waitFor(xapi, ref, pred, what) {
  return new Promise((resolve, reject) => {
    const test = () => {
      const o = xapi.getObjectByRef(ref, undefined)
      if (pred(o)) {
        clearTimeout(timer)
        xapi.objects.removeListener('add', test)
        xapi.objects.removeListener('update', test)
        xapi.objects.removeListener('remove', test)
        resolve(o)
        return true
      }
      return false
    }
    const timer = setTimeout(() => {
      xapi.objects.removeListener('add', test)
      xapi.objects.removeListener('update', test)
      xapi.objects.removeListener('remove', test)
      reject(new Error(`timed out waiting for ${what}`))
    }, DEADLINE_MS)
    xapi.objects.on('add', test)
    xapi.objects.on('update', test)
    xapi.objects.on('remove', test)
    test()
  })
}

async function main() {
  const xapi = createClient({ url, auth: { user, password }, transport, allowUnauthorized: true })
  await xapi.connect()
  check(xapi.status === 'connected', 'connected', xapi.status)
  // the cache fills from get_all_records and event.from
  const until = (pred, what) =>
    new Promise((resolve, reject) => {
      const t0 = Date.now()
      const poll = () => {
        const v = pred()
        if (v) resolve(v)
        else if (Date.now() - t0 > DEADLINE_MS) reject(new Error(`timed out waiting for ${what}`))
        else setTimeout(poll, 20)
      }
      poll()
    })
  const pool = await until(() => xapi.pool, 'the pool record')
  const wanted = ['pool', 'host', 'host_metrics', 'VM', 'VM_metrics', 'SR', 'PBD', 'network', 'PIF']
  const present = () => new Set(Object.values(xapi.objects.all).map(o => o.$type))
  await until(() => wanted.every(t => present().has(t)), 'a record of every class the sim host has').catch(() => null)
  check(pool.$ref.startsWith('OpaqueRef:'), 'pool ref is an OpaqueRef', pool.$ref)
  const master = pool.$master
  check(master !== undefined && master.$type === 'host', 'pool.$master links to the host record', master && master.$type)
  const all = Object.values(xapi.objects.all)
  const dom0 = all.find(o => o.$type === 'VM' && o.is_control_domain)
  check(dom0 !== undefined, 'dom0 is listed', all.length)
  check(dom0 && dom0.$resident_on?.$ref === master?.$ref, 'dom0.$resident_on is the master host')
  check(dom0 && typeof dom0.memory_static_max === (transport === 'xml-rpc' ? 'string' : 'number'), 'ints typed as the transport carries them (auto: JSON-RPC, numbers)', dom0 && typeof dom0.memory_static_max)
  const types = new Set(all.map(o => o.$type))
  for (const t of wanted) {
    check(types.has(t), `objects of class ${t} fetched`, [...types])
  }

  // a VM's lifecycle, each step seen through events
  const label = `xo-${transport}-${process.pid}`
  const vmRef = await xapi.call('VM.create', {
    name_label: label, name_description: 'made by xo_client.mjs', user_version: 1, is_a_template: false,
    auto_power_on: false, memory_static_max: 256 * 1024 * 1024, memory_dynamic_max: 256 * 1024 * 1024,
    memory_dynamic_min: 128 * 1024 * 1024, memory_static_min: 16 * 1024 * 1024, VCPUs_params: {},
    VCPUs_max: 1, VCPUs_at_startup: 1, actions_after_shutdown: 'destroy', actions_after_reboot: 'restart',
    actions_after_crash: 'restart', PV_bootloader: '', PV_kernel: '/boot/vmlinuz-test', PV_ramdisk: '',
    PV_args: '', PV_bootloader_args: '', PV_legacy_args: '', HVM_boot_policy: '', HVM_boot_params: {},
    platform: {}, PCI_bus: '', other_config: {}, recommendations: '', tags: [],
  })
  check(vmRef.startsWith('OpaqueRef:'), 'VM.create returns an OpaqueRef', vmRef)
  let vm = await waitFor(xapi, vmRef, o => o !== undefined, 'the new VM in the cache')
  check(vm.name_label === label && vm.power_state === 'Halted', 'the new VM arrives by event, Halted', vm.power_state)
  await xapi.call('VM.start', vmRef, false)
  vm = await waitFor(xapi, vmRef, o => o && o.power_state === 'Running', 'Running')
  check(vm.power_state === 'Running' && vm.$resident_on?.$ref === master?.$ref, 'started: Running on the host, by event', vm.resident_on)
  await xapi.call('VM.pause', vmRef)
  vm = await waitFor(xapi, vmRef, o => o && o.power_state === 'Paused', 'Paused')
  check(true, 'paused, by event')
  await xapi.call('VM.unpause', vmRef)
  await waitFor(xapi, vmRef, o => o && o.power_state === 'Running', 'Running again')
  check(true, 'unpaused, by event')
  // an Async call watched through its task, as XO drives long operations
  await xapi.callAsync('VM.clean_shutdown', vmRef)
  vm = await waitFor(xapi, vmRef, o => o && o.power_state === 'Halted', 'Halted')
  check(vm.power_state === 'Halted', 'Async.VM.clean_shutdown completes through its task, Halted by event')
  await xapi.setField('VM', vmRef, 'name_description', 'renamed')
  await waitFor(xapi, vmRef, o => o && o.name_description === 'renamed', 'the new description')
  check(true, 'a field set through setField arrives by event')
  await xapi.call('VM.destroy', vmRef)
  await waitFor(xapi, vmRef, o => o === undefined, 'the VM removed')
  check(true, 'destroyed: removed from the cache by a del event')

  check(xapi.watchEventsError === undefined, 'no event-watching error', String(xapi.watchEventsError))
  await xapi.disconnect()
  check(xapi.status === 'disconnected', 'disconnected', xapi.status)
}

try {
  await main()
} catch (error) {
  check(false, 'no exception', error && error.stack ? error.stack : String(error))
}
check(logged.length === 0, 'the client logged no warning or error', logged)
console.log(`${passed} passed, ${failed} failed`)
process.exit(failed ? 1 : 0)
