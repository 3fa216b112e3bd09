#!/bin/bash
# The wire surface is frozen in api/methods.txt: any change to a method's
# name or signature must be made there too, on purpose.
gen="${XEND_BUILDDIR:-.}/gen/methods.txt"
ref="${XEND_SRCDIR:-$srcdir}/api/methods.txt"
if diff -u "$ref" "$gen"; then
    echo "1 passed, 0 failed"
else
    echo "the generated wire surface differs from api/methods.txt (see the diff above)"
    echo "0 passed, 1 failed"
    exit 1
fi
