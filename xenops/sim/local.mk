# xenops/sim
