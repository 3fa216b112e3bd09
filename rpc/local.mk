# rpc: HTTP transport, sessions, PAM (see rpc/codec.mk for the codec)
