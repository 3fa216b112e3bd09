"""xen: Python bindings for xend, the Xen management daemon (see xen.xenapi)."""
