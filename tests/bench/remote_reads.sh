#!/bin/bash
# Benchmark, one boot: a 256 MiB image of 12 000 files (tree256) in a real
# registry (docker-registry, TLS, htpasswd), over loopback shaped with netem
# (CFS_BENCH_NET_DELAY each way, 10ms: a 20 ms round trip; CFS_BENCH_NET_RATE,
# 200mbit), read on demand through the supervisor against what a user has
# today: pull the whole blob with curl (checked against its digest as it
# streams, as docker pull does) and mount the file (erofs file-backed).
# On demand runs once per worker count (1, and the shipped default 2:
# readahead needs an idle worker), each from an empty cache.
# For each: the time from the start (mount, or pull) to the first small
# file read and checked, and to every file read (READERS readers, cat);
# every byte is then checked against the manifest, outside the clock.
# Bytes and range requests come from the registry's access log (and the
# worker's totals line). Then the on-demand image is unmounted and mounted
# again: reading it all must send no range request (the cache holds every
# byte), or the bench fails.
#
# Environment:
#   CFS_BENCH_NET_DELAY     netem delay on lo, each way (10ms)
#   CFS_BENCH_NET_RATE      netem rate on lo (200mbit)
#   CFS_BENCH_REMOTE_READERS  parallel readers of the full read (4)
#   CFS_BENCH_REMOTE_WORKERS  the domain's worker counts, one cold run each ("1 2")
#   CFS_BENCH_SUP_ARGS      more supervisor arguments
# vm-images: tree256:tree256
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"
. "$CFS_SRC/tests/vm/remote-lib.sh"
. "$CFS_SRC/tests/bench/bench-lib.sh"

delay=${CFS_BENCH_NET_DELAY:-10ms} rate=${CFS_BENCH_NET_RATE:-200mbit} readers=${CFS_BENCH_REMOTE_READERS:-4}
workers_list=${CFS_BENCH_REMOTE_WORKERS:-1 2}
REG_PORT=5443 USER=cfs-puller PASSWORD=pw-$RANDOM$RANDOM REPO=cfs/tree256
image=$(image_path tree256) manifest=$(image_manifest tree256)
rig=$CFS_VM_TMP/rig descs=/srv/remote od=/mnt/remote-od fb=/mnt/remote-fb
# On tmpfs: the cache fs (a 512 MiB RAM disk) has no room for a second copy.
pulled=$CFS_VM_TMP/pulled.img
files=$(wc -l <"$manifest")
scenario_begin bench_remote_reads

ip link set lo up
rig_certs "$rig"
rig_registry_start "$rig" "$REG_PORT" "$USER" "$PASSWORD"
# Pushed before the shaping: setting up is not what is measured.
digest=$(rig_registry_push "$rig" "$REG_PORT" "$REPO" "$image" "$USER" "$PASSWORD")
image_bytes=$(stat -c %s "$image")
mkdir -p "$descs" "$od" "$fb"
"$CFS_BUILD/tools/cachefiles-blob-describe" "$image" -o "$descs/tree256.desc" >/dev/null
grep -qx "digest $digest" "$descs/tree256.desc" || scenario_fail "the descriptor names another digest than the registry's"
vm_log "pushed tree256 ($image_bytes bytes, $files files) as $digest; chunk size $(sed -n 's/^chunk-size //p' "$descs/tree256.desc")"
umask 077
printf 'basic %s:%s\n' "$USER" "$PASSWORD" >"$rig/credentials"
umask 022
# shellcheck disable=SC2206 # extra arguments are words on purpose
extra=(${CFS_BENCH_SUP_ARGS:-})

tc qdisc add dev lo root netem delay "$delay" rate "$rate"
connect_ms=$(curl -s -o /dev/null --cacert "$rig/ca.crt" -w '%{time_connect}' "https://127.0.0.1:$REG_PORT/v2/" |
	awk '{ printf "%.1f", $1 * 1000 }')
shaping="netem on lo: delay $delay each way, rate $rate ($(tc qdisc show dev lo | head -n1)); TCP connect $connect_ms ms"
vm_log "shaped: $shaping"

# The first small file: the first in the manifest outside large/.
first=$(awk 'substr($0, 67) !~ /^large\// { print; exit }' "$manifest")
first_name=${first:66} first_sum=${first:0:64}

first_ok() {
	[ "$(sha256sum <"$1/$first_name" | cut -c1-64)" = "$first_sum" ]
}

verify() {
	(cd "$1" && sha256sum --check --quiet --strict "$manifest") >"$CFS_VM_TMP/verify" 2>&1 && return 0
	head -5 "$CFS_VM_TMP/verify"
	return 1
}

# timed_reads T0 DIR WHAT: the first small file, then every file; FIRST_S and
# FULL_S are seconds since T0. Then every byte checked, outside the clock.
timed_reads() {
	local t0=$1 dir=$2 what=$3
	first_ok "$dir" || scenario_fail "$what: $first_name differs"
	FIRST_S=$(elapsed "$t0")
	read_tree "$dir" "$manifest" "$readers" || scenario_fail "$what: a reader failed"
	FULL_S=$(elapsed "$t0")
	verify "$dir" || scenario_fail "$what: content differs"
}

# blob_gets: "GETS BYTES" of the blob the registry has answered so far (its
# access log, which earlier runs' out dirs keep: only differences count).
blob_gets() {
	awk -F'"' -v req="GET /v2/$REPO/blobs/$digest HTTP/" 'index($2, req) == 1 {
			split($3, f, " "); n++; b += f[2]
		} END { printf "%d %.0f\n", n, b }' "$CFS_OUT/registry.log"
}

# on_demand WORKERS: a cold mount through a domain with WORKERS workers, an
# empty cache, nothing of the image on the node but its descriptor; then the
# same image mounted again. Sets OD[WORKERS,key].
declare -A OD
on_demand() {
	local w=$1 name=reg-tree256-w$1 conf=$CFS_VM_TMP/remote-w$1.conf t0 gets0 gbytes0 gets1 gbytes1 gets2 gbytes2
	local reads1
	cache_wipe
	cp "$descs/tree256.desc" "$descs/$name.desc"
	{
		printf '[cache]\ndir = %s\nrequest_timeout = 30s\n' "$CFS_CACHE_DIR"
		rig_domain registry 'reg-*' "$descs" "registry https://127.0.0.1:$REG_PORT/$REPO" "$rig/ca.crt" \
			"credentials = $rig/credentials" | sed "s/^workers = 1\$/workers = $w/"
	} >"$conf"
	grep -qx "workers = $w" "$conf" || scenario_fail "the domain was not given $w workers"
	supervisor_start -c "$conf" "${extra[@]}"
	drop_caches
	read -r gets0 gbytes0 <<<"$(blob_gets)"
	t0=$EPOCHREALTIME
	mount -t erofs none -o "fsid=$name" "$od" || scenario_fail "on-demand mount failed"
	OD[$w,mount_s]=$(elapsed "$t0")
	timed_reads "$t0" "$od" "on demand, workers=$w"
	OD[$w,first_s]=$FIRST_S OD[$w,full_s]=$FULL_S
	read -r gets1 gbytes1 <<<"$(blob_gets)"
	OD[$w,requests]=$((gets1 - gets0)) OD[$w,bytes]=$((gbytes1 - gbytes0))
	sup_latency || scenario_fail "no stats line"
	reads1=${LAT[stat_reads]} OD[$w,reads]=${LAT[stat_reads]} OD[$w,readahead]=${LAT[stat_readahead]:-0}
	OD[$w,payload]=$(cd "$od" && cut -c67- "$manifest" | xargs -d '\n' stat -c %s | awk '{ s += $1 } END { print s }')
	vm_log "RUN on-demand, workers=$w: mount ${OD[$w,mount_s]} s, first file ${OD[$w,first_s]} s, all files" \
		"${OD[$w,full_s]} s; fetched ${OD[$w,bytes]} bytes in ${OD[$w,requests]} range requests for" \
		"${OD[$w,payload]} bytes of files (image $image_bytes bytes); ${OD[$w,reads]} READs," \
		"${OD[$w,readahead]} bytes of readahead"

	# The same image again, after unmount: the cache holds every byte of it.
	umount "$od"
	drop_caches
	t0=$EPOCHREALTIME
	mount -t erofs none -o "fsid=$name" "$od" || scenario_fail "second mount failed"
	check_tree "$od" "$manifest" "$readers" || scenario_fail "second mount: content differs"
	OD[$w,warm_s]=$(elapsed "$t0")
	read -r gets2 gbytes2 <<<"$(blob_gets)"
	sup_latency || scenario_fail "no stats line"
	OD[$w,warm_reads]=$((LAT[stat_reads] - reads1))
	OD[$w,warm_requests]=$((gets2 - gets1)) OD[$w,warm_bytes]=$((gbytes2 - gbytes1))
	vm_log "RUN second mount, workers=$w: all files read and checked in ${OD[$w,warm_s]} s; range requests:" \
		"${OD[$w,warm_requests]} (${OD[$w,warm_bytes]} bytes); READs from the kernel: ${OD[$w,warm_reads]}"
	[ "${OD[$w,warm_requests]}" = 0 ] || scenario_fail "the second mount (workers=$w) sent" \
		"${OD[$w,warm_requests]} range requests (${OD[$w,warm_bytes]} bytes) for bytes the cache holds"
	umount "$od"
	supervisor_stop || scenario_fail "supervisor exit status $?"
}

for w in $workers_list; do
	on_demand "$w"
done

# The alternative: pull the whole blob, check its digest, mount the file.
drop_caches
read -r gets0 _ <<<"$(blob_gets)"
t0=$EPOCHREALTIME
pulled_sum=$(curl -sSf --cacert "$rig/ca.crt" -u "$USER:$PASSWORD" "https://127.0.0.1:$REG_PORT/v2/$REPO/blobs/$digest" |
	tee "$pulled" | sha256sum | cut -c1-64) || scenario_fail "pull failed"
pull_s=$(elapsed "$t0")
[ "sha256:$pulled_sum" = "$digest" ] || scenario_fail "the pulled blob has sha256:$pulled_sum, not $digest"
mount -t erofs -o ro "$pulled" "$fb" || scenario_fail "file-backed mount failed"
fb_mount_s=$(elapsed "$t0")
timed_reads "$t0" "$fb" pulled
fb_first_s=$FIRST_S fb_full_s=$FULL_S
read -r gets1 _ <<<"$(blob_gets)"
# The pulled file's size: the access log's byte count of a 200 came up short once (247 of 270 MB).
fb_gets=$((gets1 - gets0)) fb_bytes=$(stat -c %s "$pulled")
umount "$fb"
rm -f "$pulled"
vm_log "RUN pull-then-mount: pulled $fb_bytes bytes in $pull_s s ($(mibps "$fb_bytes" "$pull_s") MiB/s)," \
	"mounted at $fb_mount_s s, first file $fb_first_s s, all files $fb_full_s s"

tc qdisc del dev lo root
rig_stop registry

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }'; }
vm_log "REMOTE $shaping; $readers readers; pull-then-mount: first small file ($first_name) $fb_first_s s," \
	"all files $fb_full_s s"
for w in $workers_list; do
	first_ratio=$(ratio "${OD[$w,first_s]}" "$fb_first_s") full_ratio=$(ratio "${OD[$w,full_s]}" "$fb_full_s")
	vm_log "REMOTE on demand, workers=$w: first small file ${OD[$w,first_s]} s (ratio $first_ratio)," \
		"all files ${OD[$w,full_s]} s (ratio $full_ratio); fetched ${OD[$w,bytes]} bytes for" \
		"${OD[$w,payload]} bytes of files ($(ratio "${OD[$w,bytes]}" "${OD[$w,payload]}") ×); second mount:" \
		"${OD[$w,warm_requests]} range requests"
	bench_json bench=remote_read shaping="$shaping" delay="$delay" rate="$rate" connect_ms="$connect_ms" \
		readers="$readers" workers="$w" image_bytes="$image_bytes" payload_bytes="${OD[$w,payload]}" files="$files" \
		od_mount_s="${OD[$w,mount_s]}" od_first_s="${OD[$w,first_s]}" od_full_s="${OD[$w,full_s]}" \
		od_fetched_bytes="${OD[$w,bytes]}" od_requests="${OD[$w,requests]}" od_reads="${OD[$w,reads]}" \
		od_readahead_bytes="${OD[$w,readahead]}" warm_s="${OD[$w,warm_s]}" warm_requests="${OD[$w,warm_requests]}" \
		warm_bytes="${OD[$w,warm_bytes]}" warm_reads="${OD[$w,warm_reads]}" pull_s="$pull_s" pull_bytes="$fb_bytes" \
		pull_requests="$fb_gets" fb_mount_s="$fb_mount_s" fb_first_s="$fb_first_s" fb_full_s="$fb_full_s" \
		first_ratio="$first_ratio" full_ratio="$full_ratio" ok="$([ "$SCENARIO_FAILED" = 0 ] && echo 1 || echo 0)"
done
scenario_end workers="${workers_list// /+}" fb_first_s="$fb_first_s" fb_full_s="$fb_full_s"
