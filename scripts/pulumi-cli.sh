#!/usr/bin/env bash
# The Pulumi CLI the rollout's engine tests run against (test/rollout-engine.test.ts), at the
# version of @pulumi/pulumi in node_modules. No release binary can be downloaded here, so it is
# built from the Go module proxy (a few minutes) once per version into the user's cache
# directory; later runs only look it up.
#
#   scripts/pulumi-cli.sh          prints the directory to use as the Automation API's
#                                  PulumiCommand root (the CLI is <dir>/bin/pulumi)
#   . scripts/pulumi-cli.sh        the same, exported as CMHC_PULUMI_ROOT (prints nothing)
#
# Progress goes to stderr. Needs `go` (on PATH, or GO=/path/to/go) for the first build of a
# version; CMHC_PULUMI_VERSION overrides the version (default: node_modules/@pulumi/pulumi's).

# Run as a script, or in a command substitution when sourced, so the caller's options and
# traps are left alone. Every step checks its own status: `set -e` is ignored when the function
# runs inside an `if`.
cmhc_pulumi_cli() {
  set -uo pipefail
  local repo
  repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  local version="${CMHC_PULUMI_VERSION:-}"
  if [ -z "$version" ]; then
    local pkg="$repo/node_modules/@pulumi/pulumi/package.json"
    if [ ! -f "$pkg" ]; then
      echo "pulumi-cli: $pkg not found: run npm ci first (the CLI is built at the SDK's version)" >&2
      return 1
    fi
    version="$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$pkg" | head -n 1)"
    if [ -z "$version" ]; then
      echo "pulumi-cli: no version in $pkg" >&2
      return 1
    fi
  fi
  version="${version#v}"
  local parent="${XDG_CACHE_HOME:-$HOME/.cache}/cloudmap-health-checker"
  local cache="$parent/pulumi-v$version"
  if [ -x "$cache/bin/pulumi" ]; then
    echo "$cache"
    return 0
  fi

  local go="${GO:-}"
  if [ -z "$go" ]; then
    go="$(command -v go || true)"
    [ -z "$go" ] && [ -x /usr/local/go/bin/go ] && go=/usr/local/go/bin/go
  fi
  if [ -z "$go" ] || [ ! -x "$go" ]; then
    echo "pulumi-cli: no Pulumi CLI v$version in $cache, and no Go toolchain to build it:" \
      "install Go (https://go.dev/dl/) or set GO=/path/to/go, then run scripts/pulumi-cli.sh" >&2
    return 1
  fi

  # Built aside in the same directory and moved into place whole: a half-built cache is never
  # used, and an interrupted build leaves only a temporary directory behind (removed on exit).
  mkdir -p "$parent" || return 1
  local tmp
  tmp="$(mktemp -d "$parent/pulumi-v$version.tmp.XXXXXX")" || return 1
  # Expanded now: the function's `tmp` is gone by the time the shell exits.
  # shellcheck disable=SC2064
  trap "rm -rf -- '$tmp'" EXIT
  trap 'exit 1' HUP INT TERM
  echo "pulumi-cli: building the Pulumi CLI v$version with $("$go" version | cut -d' ' -f3) from the Go module proxy into $cache (a few minutes on a fresh machine)" >&2
  mkdir -p "$tmp/src" "$tmp/root/bin" || return 1
  cat >"$tmp/src/go.mod" <<EOF
module cmhc.local/pulumi-cli

go 1.24

require (
	github.com/pulumi/pulumi/pkg/v3 v$version
	github.com/pulumi/pulumi/sdk/v3 v$version
)
EOF
  # `go install pkg@version` refuses (pkg's go.mod has replace directives): a module of our own
  # that requires it builds it instead.
  cat >"$tmp/src/tools.go" <<'EOF'
//go:build tools

package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
EOF
  local started=$SECONDS
  echo "pulumi-cli: resolving modules (go mod tidy)" >&2
  (cd "$tmp/src" && "$go" mod tidy) >&2 || {
    echo "pulumi-cli: go mod tidy failed (is the Go module proxy reachable? GOPROXY=$("$go" env GOPROXY))" >&2
    return 1
  }
  echo "pulumi-cli: compiling (go build)" >&2
  (cd "$tmp/src" && CGO_ENABLED=0 "$go" build -o "$tmp/root/bin/pulumi" \
    -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$version" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi) >&2 || {
    echo "pulumi-cli: go build failed" >&2
    return 1
  }
  local built
  built="$(PULUMI_SKIP_UPDATE_CHECK=true "$tmp/root/bin/pulumi" version)" || return 1
  if [ "$built" != "v$version" ]; then
    echo "pulumi-cli: the built CLI reports $built, expected v$version" >&2
    return 1
  fi
  # Another build of the same version may have finished first: keep whichever landed.
  if ! mv -T "$tmp/root" "$cache" 2>/dev/null && [ ! -x "$cache/bin/pulumi" ]; then
    echo "pulumi-cli: could not move the built CLI into $cache" >&2
    return 1
  fi
  echo "pulumi-cli: built $built in $((SECONDS - started)) s: $cache/bin/pulumi" >&2
  echo "$cache"
}

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
  # Sourced: export the root for the tests (test/rollout-engine.test.ts reads it).
  if CMHC_PULUMI_ROOT="$(cmhc_pulumi_cli)"; then
    unset -f cmhc_pulumi_cli
    export CMHC_PULUMI_ROOT
  else
    unset -f cmhc_pulumi_cli
    unset CMHC_PULUMI_ROOT
    return 1
  fi
else
  cmhc_pulumi_cli
fi
