#!/bin/bash
# Runs a vm scenario with CFS_DEB set to the Debian package of this tree:
# the one in $CFS_BUILD/deb if tests/check-deb.sh built it from the tree as it
# is now (tests/run-all.sh does, before the vm suite), else it is built here
# first (about a minute).
#   tests/vm/with-deb.sh RUN-VM-ARGS...
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
. "$src/tests/tree-id.sh"
dir=${CFS_BUILD:?CFS_BUILD: the meson build dir}/deb
if [ "$(cat "$dir/tree-id" 2>/dev/null)" != "$(tree_id "$src")" ]; then
	echo "with-deb: building the package of this tree into $dir" >&2
	"$src/tests/check-deb.sh" --keep "$dir" >&2
fi
CFS_DEB=$(ls "$dir"/cachefiles-supervisor_*.deb)
export CFS_DEB
exec "$src/tests/vm/run-vm.sh" "$@"
