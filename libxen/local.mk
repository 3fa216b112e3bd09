# libxen
