# xenops
