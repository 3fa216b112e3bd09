# rpc: the HTTP transport is built into daemon/xend (daemon/local.mk); codec: rpc/codec.mk; PAM: rpc/auth.mk
