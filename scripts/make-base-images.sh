#!/usr/bin/env bash
# Makes the two base images the Dockerfile builds on, for machines that cannot
# pull node:20-bookworm and node:20-bookworm-slim (no Docker Hub): Debian
# bookworm from debootstrap, plus this machine's Node.js, laid out like the
# official images (node, npm and Node's headers under /usr/local, a `node`
# user with uid and gid 1000). The build base adds python3, make and g++ for
# better-sqlite3's addon.
#
#   sudo scripts/make-base-images.sh          # prints the two --build-arg flags
#   podman build --format docker $(scripts/make-base-images.sh) \
#     --secret id=ca,src=/etc/ssl/certs/ca-certificates.crt -t audiorista-runner .
#
# Images that already exist for this Node version are reused (a label holds
# it); FORCE=1 makes them again. Needs root, debootstrap and podman, and
# Debian's mirror (DEBIAN_MIRROR, default http://deb.debian.org/debian).
# Progress goes to stderr; stdout is only the build arguments.
set -euo pipefail

RUNTIME_TAG=${RUNTIME_TAG:-localhost/audiorista-base:node20-bookworm-slim}
BUILD_TAG=${BUILD_TAG:-localhost/audiorista-base:node20-bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

node_bin=$(command -v node) || { echo "make-base-images: no node on PATH" >&2; exit 1; }
node_bin=$(readlink -f "$node_bin")
node_version=$("$node_bin" --version)
case "$node_version" in v20.*) ;; *) echo "make-base-images: Node 20 needed, this machine has $node_version" >&2; exit 1 ;; esac
# node lives in <prefix>/bin; npm in <prefix>/lib/node_modules/npm; headers in <prefix>/include/node.
prefix=$(dirname "$(dirname "$node_bin")")
for need in "$prefix/lib/node_modules/npm/bin/npm-cli.js" "$prefix/include/node/node.h"; do
  [ -e "$need" ] || { echo "make-base-images: $need is missing (npm and Node's headers go into the images)" >&2; exit 1; }
done

built_for() { podman image inspect --format '{{index .Labels "audiorista.node"}}' "$1" 2>/dev/null || true; }

if [ "${FORCE:-}" != 1 ] && [ "$(built_for "$RUNTIME_TAG")" = "$node_version" ] && [ "$(built_for "$BUILD_TAG")" = "$node_version" ]; then
  echo "make-base-images: reusing $RUNTIME_TAG and $BUILD_TAG (Node $node_version)" >&2
else
  work=$(mktemp -d /var/tmp/audiorista-base.XXXXXX)
  trap 'rm -rf "$work"' EXIT

  # One rootfs: debootstrap, this machine's Node, the node user; then import it.
  make_base() { # make_base TAG DIR [packages to add]
    local tag=$1 root=$2 include=${3:-}
    echo "make-base-images: debootstrap bookworm into $root${include:+ (with $include)}" >&2
    debootstrap --variant=minbase ${include:+--include="$include"} bookworm "$root" "$MIRROR" >"$root.log" 2>&1 ||
      { tail -n 20 "$root.log" >&2; echo "make-base-images: debootstrap failed (log above)" >&2; return 1; }
    install -d "$root/usr/local/bin" "$root/usr/local/lib/node_modules" "$root/usr/local/include"
    cp "$node_bin" "$root/usr/local/bin/node"
    cp -a "$prefix/lib/node_modules/npm" "$root/usr/local/lib/node_modules/npm"
    ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
    ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
    # Headers for node-gyp in the build base (the official slim image has them too).
    cp -a "$prefix/include/node" "$root/usr/local/include/node"
    echo 'node:x:1000:1000::/home/node:/bin/sh' >>"$root/etc/passwd"
    echo 'node:x:1000:' >>"$root/etc/group"
    install -d -o 1000 -g 1000 "$root/home/node"
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    echo "make-base-images: importing $tag" >&2
    tar -C "$root" -c . | podman import --quiet \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["node"]' \
      --change "LABEL audiorista.node=$node_version" - "$tag" >/dev/null
  }
  # Side by side: both are mostly waiting on the mirror.
  make_base "$RUNTIME_TAG" "$work/runtime" &
  runtime=$!
  make_base "$BUILD_TAG" "$work/build" python3,make,g++ &
  build=$!
  failed=0
  wait "$runtime" || failed=1
  wait "$build" || failed=1
  [ "$failed" = 0 ]
fi

echo "--build-arg NODE_IMAGE=$RUNTIME_TAG --build-arg NODE_BUILD_IMAGE=$BUILD_TAG"
