# xenops/xen
