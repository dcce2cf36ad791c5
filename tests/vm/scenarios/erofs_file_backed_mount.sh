#!/bin/bash
# Sanity check of the kernel and the images, no daemon involved: a file-backed
# erofs mount of the image reads back every file intact (4 parallel readers).
# Usage: erofs_file_backed_mount.sh [IMAGE]   (default: small)
# vm-images: small:small big:big
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"

image=${1:-small}
scenario_begin "erofs_file_backed_mount($image)"

# A copy in guest RAM, like the daemon's blobs, so both scenarios read the
# same medium and their times compare.
mkdir -p /srv/images "/mnt/$image"
cp "$(image_path "$image")" "/srv/images/$image.img"
mount -t erofs -o ro "/srv/images/$image.img" "/mnt/$image"

check_tree "/mnt/$image" "$(image_manifest "$image")" 4 || scenario_fail "content differs"

umount "/mnt/$image"
scenario_end image="$image" files="$CHECK_FILES" bytes="$CHECK_BYTES" bad="$CHECK_BAD" \
	read_s="$CHECK_SECONDS"
