#!/bin/bash
# The tarball holds what its README names: every path written in README.md
# (in backquotes or as a command) that exists in the source tree must be in
# the distribution directory too; a named directory must not be empty there.
# Run by `make distcheck` (distcheck-hook): tools/check-dist.sh SRCDIR DISTDIR
src=$1 dist=$2
missing=() n=0
paths=$( { grep -o '`[^`]*`' "$src/README.md" | tr -d '`'; grep -E '^    [a-z.]' "$src/README.md" | awk '{print $1}'; } |
         tr ' ' '\n' | grep -E '^[.a-zA-Z0-9_-][.a-zA-Z0-9_/-]*$' | grep / | grep -v -E '^(\.\./|build[^/]*/)' | sort -u)   # not the build tree's generated files
for p in $paths; do
    [ -e "$src/$p" ] || continue        # a path of the installed system, or a part of a longer one
    n=$((n + 1))
    if [ -d "$src/$p" ]; then
        [ -d "$dist/$p" ] && [ -n "$(ls -A "$dist/$p")" ] || missing+=("$p")
    else
        [ -e "$dist/$p" ] || missing+=("$p")
    fi
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "check-dist: the tarball lacks what README.md names: ${missing[*]}" >&2
    exit 1
fi
echo "check-dist: all $n paths README.md names are in the tarball"
