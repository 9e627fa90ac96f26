#!/usr/bin/env bash
# Runs a command on Node.js 24, fetched as use-node.sh says when the machine's Node is older:
#   scripts/with-node.sh npm ci && scripts/with-node.sh npm test
set -euo pipefail
. "$(dirname "$0")/use-node.sh"
exec "$@"
