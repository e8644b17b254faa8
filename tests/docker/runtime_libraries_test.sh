#!/usr/bin/env bash
# Keeps the Dockerfile honest without a Docker engine: every shared library the binary links
# (ldd) must come from a package the runtime stage installs, one of their dependencies, or
# the base image. Usage: runtime_libraries_test.sh BINARY DOCKERFILE
set -euo pipefail
binary=$1
dockerfile=$2

# The packages after `apt-get install` in the runtime stage (from its FROM to the end).
runtime=$(awk '/^FROM .* AS runtime/{on=1} on' "$dockerfile" |
  sed -n '/apt-get install/,/rm -rf/p' | tr ' \\' '\n\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$' |
  grep -vE '^(apt-get|install|rm|rf|y|no-install-recommends|&&)$' | sort -u)
[ -n "$runtime" ] || { echo "no apt-get install list found in the runtime stage of $dockerfile"; exit 1; }

# Present in debian:12-slim before anything is installed.
base="libc6 libgcc-s1 libstdc++6 zlib1g libzstd1 libgmp10 libcrypt1"
# What apt brings along with the runtime packages.
closure=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces \
  --no-enhances $runtime 2>/dev/null | grep -vE '^ |^<' | sed 's/:.*//' | sort -u)

missing=0
while read -r name arrow path _; do
  [ "$arrow" = "=>" ] && [ -n "$path" ] && [ -e "$path" ] || continue
  package=""
  for candidate in "$path" "/usr$path" "$(readlink -f "$path")"; do
    package=$(dpkg -S "$candidate" 2>/dev/null | head -1 | cut -d: -f1) && [ -n "$package" ] && break
  done
  if [ -z "$package" ]; then
    echo "no Debian package owns $path ($name)"; missing=1; continue
  fi
  if grep -qx "$package" <<<"$runtime"$'\n'"$(tr ' ' '\n' <<<"$base")"$'\n'"$closure"; then continue; fi
  echo "$name comes from $package, which the runtime stage of the Dockerfile does not install"
  missing=1
done < <(env -u LD_PRELOAD ldd "$binary")  # what the binary links, not what a test run preloads
[ "$missing" -eq 0 ] && echo "every library $(basename "$binary") links is in the runtime image"
exit "$missing"
