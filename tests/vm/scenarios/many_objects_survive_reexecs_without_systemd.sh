#!/bin/bash
# Issue 16 without systemd: the supervisor holds every object's fd itself
# and passes them all across SIGUSR2 and `cachefilesctl reexec`, then worker
# SIGKILLs. See many_objects_survive_restarts_and_kills.sh (same
# environment).
# vm-images: mini:mini small:small
set -euo pipefail
CFS_SCALE_MODE=chroot CFS_SCALE_NAME=many_objects_survive_reexecs_without_systemd \
	. "$CFS_SRC/tests/vm/scenarios/many_objects_survive_restarts_and_kills.sh"
