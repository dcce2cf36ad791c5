# shellcheck shell=bash
# Origins for remote-blob scenarios (bash, sourced in the guest after
# lib.sh): real servers from Debian packages on loopback, behind TLS with a
# CA made here. Addresses are IP literals (127.0.0.1): the broker connects to
# loopback only when the configured name is such a literal.
#
#   rig_certs DIR               a test CA (DIR/ca.crt) and a server cert for
#                               127.0.0.1 and localhost (DIR/srv.crt, srv.key)
#   rig_registry_start DIR PORT USER PASSWORD
#                               docker-registry (distribution 2.8) with TLS and
#                               htpasswd auth, storage in DIR/registry
#   rig_registry_push DIR PORT REPOSITORY FILE USER PASSWORD
#                               FILE as a blob, through the registry's own HTTP
#                               API (POST, then a monolithic PUT ?digest=);
#                               prints its digest
#   rig_nginx_start DIR PORT ROOT
#                               nginx-light serving ROOT over HTTPS
#   rig_nginx_redirect_start DIR ORIGIN_PORT STORE_PORT ROOT USER PASSWORD
#                               nginx-light as an origin that wants basic auth
#                               and answers every GET it lets in with a 307 to
#                               the same path on STORE_PORT, and as that "object
#                               storage" serving ROOT without auth (its /loop/
#                               redirects back to the origin); access logs with
#                               the Authorization header received, as
#                               PORT "REQUEST" STATUS auth="VALUE" ("-": none),
#                               in $CFS_OUT/origin-access.log and storage-access.log
#   rig_tinyproxy_start DIR PORT CONNECT_PORT...
#                               tinyproxy on PORT, tunnelling (CONNECT) to the
#                               CONNECT_PORTs only; its log in $CFS_OUT/tinyproxy.log
#   rig_liar_start DIR PORT ROOT
#                               tests/vm/lying-origin.py serving ROOT over HTTPS,
#                               honest until rig_lie; its answers in $CFS_OUT/liar.log
#   rig_lie MODE COUNT [SECONDS]
#                               the liar's next COUNT answers are MODE (slow reset
#                               full200 badrange short 5xx 429 tls ok; see its
#                               header), then it heals
#   rig_lies_told MODE          answers (tls: handshakes) the liar gave as MODE so far
#   rig_domain NAME VOLUME BLOB_DIR ORIGIN CA_FILE [LINE...]
#                               a remote domain's config section, one worker (its
#                               totals line is then the domain's), LINEs appended
#   rig_totals DOMAIN           the domain's worker's last totals line from
#                               $SUP_LOG: "BYTES REQUESTS CONNECTIONS RETRIES"
#   rig_stop NAME [SIGNAL]      SIGNAL (TERM) to what rig_*_start started, and wait
#   rig_log_count FILE PATTERN  lines of FILE matching PATTERN (0 if none)

declare -A RIG_PID

rig_certs() {
	local dir=$1
	mkdir -p "$dir"
	# P-256 keys: an RSA key takes seconds to make under TCG.
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj "/CN=cachefiles-supervisor test CA" -addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" \
		-keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=localhost" \
		-keyout "$dir/srv.key" -out "$dir/srv.csr" 2>/dev/null
	printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=CA:FALSE" \
		"extendedKeyUsage=serverAuth" >"$dir/srv.ext"
	openssl x509 -req -in "$dir/srv.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -days 2 \
		-extfile "$dir/srv.ext" -out "$dir/srv.crt" 2>/dev/null
	openssl verify -CAfile "$dir/ca.crt" "$dir/srv.crt" >/dev/null
}

# _rig_wait_https NAME URL SECS: until URL answers over TLS (any status).
_rig_wait_https() {
	local name=$1 url=$2 deadline=$((SECONDS + $3)) dir=$4
	until curl -s -o /dev/null --cacert "$dir/ca.crt" "$url"; do
		if ! kill -0 "${RIG_PID[$name]}" 2>/dev/null; then
			vm_log "$name exited before it served $url"
			return 1
		fi
		[ "$SECONDS" -lt "$deadline" ] || { vm_log "$name does not answer at $url after $3 s"; return 1; }
		sleep 0.1
	done
	vm_log "$name serving $url (pid ${RIG_PID[$name]})"
}

rig_registry_start() {
	local dir=$1 port=$2 user=$3 password=$4
	mkdir -p "$dir/registry"
	htpasswd -Bbn "$user" "$password" >"$dir/htpasswd"
	cat >"$dir/registry.yml" <<-EOF
		version: 0.1
		log:
		  level: info
		storage:
		  filesystem:
		    rootdirectory: $dir/registry
		http:
		  addr: 127.0.0.1:$port
		  tls:
		    certificate: $dir/srv.crt
		    key: $dir/srv.key
		auth:
		  htpasswd:
		    realm: cachefiles-test
		    path: $dir/htpasswd
	EOF
	docker-registry serve "$dir/registry.yml" >>"$CFS_OUT/registry.log" 2>&1 &
	RIG_PID[registry]=$!
	_rig_wait_https registry "https://127.0.0.1:$port/v2/" 60 "$dir"
}

rig_registry_push() {
	local dir=$1 port=$2 repo=$3 file=$4 user=$5 password=$6 digest location sep code
	local auth=(--cacert "$dir/ca.crt" -u "$user:$password")
	digest=sha256:$(sha256sum "$file" | cut -d' ' -f1)
	location=$(curl -s "${auth[@]}" -X POST -D - -o /dev/null "https://127.0.0.1:$port/v2/$repo/blobs/uploads/" |
		tr -d '\r' | sed -n 's/^location: //Ip')
	[ -n "$location" ] || { vm_log "registry: no upload location for $repo"; return 1; }
	case $location in /*) location=https://127.0.0.1:$port$location ;; esac
	sep='?'
	case $location in *\?*) sep='&' ;; esac
	code=$(curl -s "${auth[@]}" -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$file" \
		-o /dev/null -w '%{http_code}' "$location${sep}digest=$digest")
	[ "$code" = 201 ] || { vm_log "registry: PUT of $file answered $code, expected 201"; return 1; }
	# What the registry now serves under that digest, asked for as a worker will.
	code=$(curl -s "${auth[@]}" -o /dev/null -w '%{http_code}' -I "https://127.0.0.1:$port/v2/$repo/blobs/$digest")
	[ "$code" = 200 ] || { vm_log "registry: HEAD of $digest answered $code"; return 1; }
	echo "$digest"
}

rig_nginx_start() {
	local dir=$1 port=$2 root=$3
	mkdir -p "$dir/nginx"
	cat >"$dir/nginx.conf" <<-EOF
		daemon off;
		worker_processes 1;
		user root;
		pid $dir/nginx/nginx.pid;
		error_log $CFS_OUT/nginx-error.log;
		events {}
		http {
		  access_log $CFS_OUT/nginx-access.log;
		  client_body_temp_path $dir/nginx;
		  proxy_temp_path $dir/nginx;
		  fastcgi_temp_path $dir/nginx;
		  uwsgi_temp_path $dir/nginx;
		  scgi_temp_path $dir/nginx;
		  server {
		    listen 127.0.0.1:$port ssl;
		    ssl_certificate $dir/srv.crt;
		    ssl_certificate_key $dir/srv.key;
		    root $root;
		  }
		}
	EOF
	nginx -c "$dir/nginx.conf" -e "$CFS_OUT/nginx-error.log" &
	RIG_PID[nginx]=$!
	_rig_wait_https nginx "https://127.0.0.1:$port/" 30 "$dir"
}

rig_nginx_redirect_start() {
	local dir=$1 origin_port=$2 store_port=$3 root=$4 user=$5 password=$6
	mkdir -p "$dir/nginx-redirect"
	printf '%s:%s\n' "$user" "$(openssl passwd -apr1 "$password")" >"$dir/origin.htpasswd"
	# return runs before auth_basic (rewrite phase, then access): the 307
	# comes from a named location try_files reaches, after the access check.
	cat >"$dir/nginx-redirect.conf" <<-EOF
		daemon off;
		worker_processes 1;
		user root;
		pid $dir/nginx-redirect/nginx.pid;
		error_log $CFS_OUT/nginx-redirect-error.log;
		events {}
		http {
		  log_format creds '\$server_port "\$request" \$status auth="\$http_authorization"';
		  client_body_temp_path $dir/nginx-redirect;
		  proxy_temp_path $dir/nginx-redirect;
		  fastcgi_temp_path $dir/nginx-redirect;
		  uwsgi_temp_path $dir/nginx-redirect;
		  scgi_temp_path $dir/nginx-redirect;
		  ssl_certificate $dir/srv.crt;
		  ssl_certificate_key $dir/srv.key;
		  server {
		    listen 127.0.0.1:$origin_port ssl;
		    access_log $CFS_OUT/origin-access.log creds;
		    auth_basic cachefiles-test;
		    auth_basic_user_file $dir/origin.htpasswd;
		    location / { try_files /.nothing-here @storage; }
		    location @storage { return 307 https://127.0.0.1:$store_port\$request_uri; }
		  }
		  server {
		    listen 127.0.0.1:$store_port ssl;
		    access_log $CFS_OUT/storage-access.log creds;
		    root $root;
		    location /loop/ { return 307 https://127.0.0.1:$origin_port\$request_uri; }
		  }
		}
	EOF
	nginx -c "$dir/nginx-redirect.conf" -e "$CFS_OUT/nginx-redirect-error.log" &
	RIG_PID[nginx-redirect]=$!
	_rig_wait_https nginx-redirect "https://127.0.0.1:$origin_port/" 30 "$dir" &&
		_rig_wait_https nginx-redirect "https://127.0.0.1:$store_port/" 30 "$dir"
}

rig_tinyproxy_start() {
	local dir=$1 port=$2 deadline=$((SECONDS + 30)) p
	# No LogFile: it is opened after the switch to nobody; -d logs to stdout.
	printf '%s\n' "User nobody" "Group nogroup" "Port $port" "Listen 127.0.0.1" "Timeout 60" "LogLevel Connect" \
		"MaxClients 20" "Allow 127.0.0.1" >"$dir/tinyproxy.conf"
	for p in "${@:3}"; do echo "ConnectPort $p"; done >>"$dir/tinyproxy.conf"
	tinyproxy -d -c "$dir/tinyproxy.conf" >"$CFS_OUT/tinyproxy.log" 2>&1 &
	RIG_PID[tinyproxy]=$!
	until curl -s -o /dev/null "http://127.0.0.1:$port/"; do
		kill -0 "${RIG_PID[tinyproxy]}" 2>/dev/null || { vm_log "tinyproxy exited"; return 1; }
		[ "$SECONDS" -lt "$deadline" ] || { vm_log "tinyproxy does not answer on port $port"; return 1; }
		sleep 0.1
	done
	vm_log "tinyproxy on 127.0.0.1:$port (pid ${RIG_PID[tinyproxy]})"
}

rig_liar_start() {
	local dir=$1 port=$2 root=$3
	# Its tls lie is a certificate from a CA the workers are not given.
	rig_certs "$dir/stranger"
	RIG_LIAR_DIR=$dir RIG_LIES=0
	rig_lie ok 0
	: >"$CFS_OUT/liar.log"
	python3 "$CFS_SRC/tests/vm/lying-origin.py" --port "$port" --root "$root" --cert "$dir/srv.crt" \
		--key "$dir/srv.key" --bad-cert "$dir/stranger/srv.crt" --bad-key "$dir/stranger/srv.key" \
		--control "$dir/liar.control" --log "$CFS_OUT/liar.log" 2>>"$CFS_OUT/liar.err" &
	RIG_PID[liar]=$!
	_rig_wait_https liar "https://127.0.0.1:$port/" 30 "$dir"
}

rig_lie() {
	# A new generation each time, so the same lie twice is counted afresh;
	# renamed into place, so the liar never reads half a line.
	RIG_LIES=$((RIG_LIES + 1))
	echo "$RIG_LIES $*" >"$RIG_LIAR_DIR/liar.control.new"
	mv -f "$RIG_LIAR_DIR/liar.control.new" "$RIG_LIAR_DIR/liar.control"
}

rig_lies_told() {
	rig_log_count "$CFS_OUT/liar.log" "^$1 "
}

rig_domain() {
	printf '\n[domain %s]\nvolume = %s\nblob_dir = %s\nworkers = 1\norigin = %s\nca_file = %s\n' "${@:1:5}"
	[ $# -le 5 ] || printf '%s\n' "${@:6}"
}

rig_totals() {
	grep "domain $1: fetched " "$SUP_LOG" | tail -n1 |
		sed -n 's/.*fetched \([0-9]*\) bytes in \([0-9]*\) requests over \([0-9]*\) connections, \([0-9]*\) retries.*/\1 \2 \3 \4/p' |
		grep . || echo "0 0 0 0"
}

rig_stop() {
	kill -"${2:-TERM}" "${RIG_PID[$1]}" 2>/dev/null || true
	wait "${RIG_PID[$1]}" 2>/dev/null || true
}

rig_log_count() {
	grep -c -- "$2" "$1" 2>/dev/null || true
}
