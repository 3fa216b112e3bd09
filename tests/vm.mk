# tests of the VM lifecycle, storage and persistence
